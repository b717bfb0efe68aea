"use strict";

const form = $("#call-form");
let idempotencyKey = null; // one per call, reused when the operator retries after a network failure

// Each rule returns an error message or null; it sees every field's value.
const RULES = {
  caller_phone: (v) => (/^\+?\d{5,20}$/.test(v) ? null : "5 to 20 digits, optionally starting with +"),
  "subject.name": (v) => (v.trim() && v.length <= 50 ? null : "required, at most 50 characters"),
  "subject.id_number": (v) => (v ? idNumberError(v.trim()) : "required"),
  "area.town": (v) => (/^\d{9}$/.test(v) ? null : "9 digits"),
  "area.village": (v, all) => (!/^\d{12}$/.test(v) ? "12 digits" : v.startsWith(all["area.town"]) ? null : "must start with the town code"),
  "area.grid": (v, all) => (!v ? null : !/^\d{12}-\d{2,4}$/.test(v) ? "village code, dash, grid number" : v.startsWith(all["area.village"]) ? null : "must start with the village code"),
  category: (v) => (v ? null : "choose a category"),
  "flags.children": (v) => (/^\d+$/.test(v) && Number(v) <= 20 ? null : "0 to 20"),
};

function values() {
  const all = {};
  for (const element of form.elements) if (element.name) all[element.name] = element.type === "checkbox" ? element.checked : element.value.trim();
  return all;
}

function showError(name, message) {
  const slot = document.getElementById(`error-${name}`);
  if (slot) slot.textContent = message ?? "";
  form.elements[name]?.setAttribute("aria-invalid", message ? "true" : "false");
}

// Errors show for fields the operator has touched; the button waits for the whole form.
function validate(showAll = false) {
  const all = values();
  let valid = true;
  for (const [name, rule] of Object.entries(RULES)) {
    const message = rule(all[name], all);
    valid &&= !message;
    if (showAll || form.elements[name].dataset.touched) showError(name, message);
  }
  $("#submit-call").disabled = !valid;
  return valid;
}

function body(all) {
  return {
    caller_phone: all.caller_phone,
    subject: { id_number: all["subject.id_number"].toUpperCase(), name: all["subject.name"] },
    area: { town: all["area.town"], village: all["area.village"], ...(all["area.grid"] ? { grid: all["area.grid"] } : {}) },
    category: all.category,
    description: all.description,
    flags: { children: Number(all["flags.children"]), elderly_alone: all["flags.elderly_alone"], disabled: all["flags.disabled"], pregnant: all["flags.pregnant"] },
  };
}

async function submit(event) {
  event.preventDefault();
  if (!validate(true)) return;
  // randomUUID exists only on https or localhost; an operator's desk on plain http still needs a key.
  idempotencyKey ||= crypto.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  $("#submit-call").disabled = true;
  $("#form-message").textContent = "sending…";
  let response;
  try {
    response = await api("/v1/hotline/calls", { json: body(values()), headers: { "Idempotency-Key": idempotencyKey } });
  } catch {
    $("#form-message").textContent = "the server could not be reached; press submit again (the call will not be duplicated)";
    $("#submit-call").disabled = false;
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) return askForToken(explain(answer));
  if (response.status === 422) {
    for (const error of answer.detail) showError(error.loc.filter((p) => p !== "body").join("."), error.msg);
    $("#form-message").textContent = "please correct the marked fields";
    $("#submit-call").disabled = false;
    return;
  }
  if (response.status !== 202) {
    $("#form-message").textContent = `not accepted: ${explain(answer)}`;
    $("#submit-call").disabled = false;
    return;
  }
  $("#form-message").textContent = "accepted; scoring…";
  showResult(await outcomeOf(answer.event_id));
}

async function showResult(result) {
  const panel = $("#result");
  const set = (name, text) => { panel.querySelector(`[data-field="${name}"]`).textContent = text ?? "—"; };
  let summary = `rejected: ${result.reason}`;
  if (result.state === "pending") summary = result.reason;
  let factors = [];
  if (result.state === "processed" && !result.case_id) summary = `recorded on the household timeline (urgency ${result.urgency}); no case opened`;
  if (result.state === "processed" && result.case_id) {
    const doc = await (await api(`/v1/cases/${result.case_id}`)).json();
    summary = `case ${doc.case_id} — ${doc.track === "standard" ? "standard-track lead" : "emergency case"} at ${doc.tier} tier`;
    set("case_id", doc.case_id);
    panel.querySelector('[data-field="case_id"]').href = "/";
    set("priority", doc.priority);
    set("urgency", String(doc.urgency));
    set("status", doc.status);
    set("due", doc.due_at ? `${humanise(doc.due_deadline)} by ${new Date(doc.due_at).toLocaleString()}` : null);
    factors = doc.factors;
  }
  panel.querySelector(".summary").textContent = summary;
  panel.querySelector(".factors").replaceChildren(
    ...factors.map((factor) => {
      const item = document.createElement("li");
      item.textContent = `${factor.code} ${factor.points >= 0 ? "+" : ""}${factor.points}${factor.detail ? ` (${factor.detail})` : ""}`;
      return item;
    }),
  );
  panel.hidden = false;
  $("#form-message").textContent = "";
  $("#new-call").focus();
}

function askForToken(message) {
  $("#token-message").textContent = message;
  $("#token-form").hidden = false;
  $("#token-input").focus();
}

form.addEventListener("input", (event) => {
  if (event.target.name) event.target.dataset.touched = "1";
  validate();
});
form.addEventListener("focusout", (event) => {
  if (event.target.name) event.target.dataset.touched = "1";
  validate();
});
form.addEventListener("submit", submit);
$("#new-call").addEventListener("click", () => {
  form.reset();
  for (const element of form.elements) delete element.dataset.touched;
  for (const name of Object.keys(RULES)) showError(name, null);
  idempotencyKey = null;
  $("#result").hidden = true;
  validate();
  form.elements.caller_phone.focus();
});
$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("#token-input").value.trim());
  $("#token-form").hidden = true;
});

if (!takeToken()) askForToken("Enter an operator token to take calls.");
validate();
