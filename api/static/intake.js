"use strict";

const form = $("#call-form");
const panel = $("#result");
let idempotencyKey = null; // one per call, reused when the operator retries after a network failure
let eventId = null; // the accepted call being followed
let serverErrors = {}; // field -> {value, msg} from a 422, shown until that field is edited
let dueTimer = null;

// What the operator types is tidied the way the server would accept it (spaces in phone and ID numbers are common).
const tidy = {
  caller_phone: (v) => v.replace(/[\s-]/g, ""),
  "subject.id_number": (v) => v.replace(/\s/g, "").toUpperCase(),
};

// Each rule returns an error message or null; it sees every field's (tidied) value.
const RULES = {
  caller_phone: (v) => (/^\+?\d{5,20}$/.test(v) ? null : "5 to 20 digits, optionally starting with +"),
  "subject.name": (v) => (!v ? "required" : [...v].length > 50 ? "at most 50 characters" : null),
  "subject.id_number": (v) => idNumberError(v),
  "area.town": (v) => (/^\d{9}$/.test(v) ? null : v ? `9 digits (${v.length} typed)` : "required, 9 digits"),
  "area.village": (v, all) => {
    if (!/^\d{12}$/.test(v)) return v ? `12 digits (${v.length} typed)` : "required, 12 digits";
    return v.startsWith(all["area.town"]) ? null : "must start with the town code";
  },
  "area.grid": (v, all) => {
    if (!v) return null;
    if (!/^\d{12}-\d{2,4}$/.test(v)) return "village code, a dash, then 2–4 digits";
    return v.startsWith(all["area.village"]) ? null : "must start with the village code";
  },
  category: (v) => (v ? null : "choose a category"),
  description: (v) => ([...v].length <= 2000 ? null : "at most 2000 characters"),
  "flags.children": (v) => (/^\d+$/.test(v) && Number(v) <= 20 ? null : "a whole number from 0 to 20"),
};

// Short names for the "still needed" line under the submit button.
const NAMES = {
  caller_phone: "caller phone",
  "subject.name": "name",
  "subject.id_number": "ID number",
  "area.town": "town",
  "area.village": "village",
  "area.grid": "grid",
  category: "category",
  description: "description",
  "flags.children": "children",
};

function values() {
  const all = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    const value = element.type === "checkbox" ? element.checked : element.value.trim();
    all[element.name] = tidy[element.name] ? tidy[element.name](value) : value;
  }
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
  const invalid = [];
  for (const [name, rule] of Object.entries(RULES)) {
    const server = serverErrors[name];
    const message = rule(all[name], all) ?? (server && server.value === all[name] ? server.msg : null);
    if (message) invalid.push(name);
    if (showAll || form.elements[name].dataset.touched) showError(name, message);
  }
  $("#submit-call").disabled = invalid.length > 0 || $("#call-fields").disabled;
  $("#form-hint").textContent = invalid.length && !$("#call-fields").disabled ? `still needed: ${invalid.map((n) => NAMES[n]).join(", ")}` : "";
  showIdHint(all["subject.id_number"], !invalid.includes("subject.id_number"));
  $("#count-description").textContent = `${[...all.description].length} / 2000`;
  return invalid.length === 0;
}

// Reading the birth date back lets the operator confirm the number with the caller.
function showIdHint(value, valid) {
  const born = valid ? birthDateOf(value) : null;
  let text = "";
  if (born) {
    const today = new Date();
    const age = today.getFullYear() - born.getUTCFullYear()
      - (today.getMonth() < born.getUTCMonth() || (today.getMonth() === born.getUTCMonth() && today.getDate() < born.getUTCDate()) ? 1 : 0);
    text = `✓ born ${born.toISOString().slice(0, 10)}, age ${age}`;
  }
  document.getElementById("hint-subject.id_number").textContent = text;
}

function body(all) {
  return {
    caller_phone: all.caller_phone,
    subject: { id_number: all["subject.id_number"], name: all["subject.name"] },
    area: { town: all["area.town"], village: all["area.village"], ...(all["area.grid"] ? { grid: all["area.grid"] } : {}) },
    category: all.category,
    description: all.description,
    flags: { children: Number(all["flags.children"]), elderly_alone: all["flags.elderly_alone"], disabled: all["flags.disabled"], pregnant: all["flags.pregnant"] },
  };
}

function say(text) {
  $("#form-message").textContent = text;
}

// Locked while the call is being processed and its result shown, so a changed form is never sent under the old key.
function lock(locked) {
  $("#call-fields").disabled = locked;
  validate();
}

// Field errors from a 422 go next to their fields; any the form has no field for are listed under the button.
function showServerErrors(detail, all) {
  const unplaced = [];
  for (const error of Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail ?? "not accepted") }]) {
    const name = fieldPath(error.loc);
    if (name in RULES) {
      serverErrors[name] = { value: all[name], msg: error.msg };
      form.elements[name].dataset.touched = "1";
    } else {
      unplaced.push(name ? `${name}: ${error.msg}` : error.msg);
    }
  }
  validate(true);
  say(`please correct the marked fields${unplaced.length ? ` — ${unplaced.join("; ")}` : ""}`);
}

async function submit(event) {
  event.preventDefault();
  if (!validate(true) || $("#call-fields").disabled) return;
  idempotencyKey ||= newKey();
  const all = values();
  $("#submit-call").disabled = true;
  say("sending…");
  let response;
  try {
    response = await api("/v1/hotline/calls", { json: body(all), headers: { "Idempotency-Key": idempotencyKey } });
  } catch {
    say("the server could not be reached; press submit again (the call will not be recorded twice)");
    validate();
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) {
    validate();
    say(`not accepted: ${explain(answer)}`);
    showTokenForm(`${explain(answer)} (${response.status}). Enter an operator token, then submit again.`);
    return;
  }
  if (response.status === 422) {
    showServerErrors(answer.detail, all);
    return;
  }
  if (response.status !== 202 || !answer.event_id) {
    say(`not accepted (${response.status}): ${explain(answer)}; press submit again`);
    validate();
    return;
  }
  eventId = answer.event_id;
  lock(true);
  say(answer.replayed ? "already received; scoring…" : "accepted; scoring…");
  await follow();
}

async function follow() {
  $("#check-again").hidden = true;
  await showResult(await outcomeOf(eventId));
}

// ---- result panel ------------------------------------------------------------------------------

function setField(name, text) {
  const element = panel.querySelector(`[data-field="${name}"]`);
  element.textContent = text ?? "—";
  return element;
}

function factorItem(factor) {
  const item = document.createElement("li");
  const code = document.createElement("code");
  code.textContent = factor.code;
  const points = document.createElement("b");
  points.textContent = formatPoints(factor.points);
  item.append(code, " ", points);
  if (factor.detail) item.append(` — ${factor.detail}`);
  if (factor.applied === false) {
    item.classList.add("unapplied");
    item.append(" (not counted)");
  }
  return item;
}

function showDue(doc) {
  clearInterval(dueTimer);
  const due = parseTime(doc.due_at);
  if (Number.isNaN(due)) return setField("due", "all deadlines met");
  const render = () => {
    const left = due - Date.now();
    const when = new Date(due).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    setField("due", `${humanise(doc.due_deadline || "deadline")} ${left < 0 ? "overdue by" : "in"} ${formatSpan(left)} (${when})`);
  };
  render();
  dueTimer = setInterval(render, 1000);
}

async function loadCase(caseId) {
  try {
    const response = await api(`/v1/cases/${encodeURIComponent(caseId)}`);
    return response.ok ? { doc: await response.json() } : { error: explain(await response.json().catch(() => ({}))) };
  } catch {
    return { error: "the server could not be reached" };
  }
}

async function showResult(result) {
  clearInterval(dueTimer);
  for (const name of ["case_id", "priority", "urgency", "status", "due"]) setField(name, null);
  const link = panel.querySelector('[data-field="case_id"]');
  link.removeAttribute("href");
  panel.querySelector('[data-field="status"]').removeAttribute("data-status");
  panel.querySelector('[data-field="priority"]').removeAttribute("data-priority");
  let factors = [];
  let summary;
  if (result.state === "rejected") {
    summary = `Rejected: ${result.reason || "no reason given"}`;
  } else if (result.state === "pending") {
    summary = `Accepted, not yet scored: ${result.reason}`;
  } else if (!result.case_id) {
    summary = "Recorded on the household timeline; no case opened. 已记入家庭档案，未立案。";
    setField("urgency", result.urgency === "" || result.urgency == null ? null : String(result.urgency));
  } else {
    setField("case_id", result.case_id);
    link.href = `/#${encodeURIComponent(result.case_id)}`;
    setField("urgency", result.urgency === "" || result.urgency == null ? null : String(result.urgency));
    const { doc, error } = await loadCase(result.case_id);
    if (doc) {
      summary = `${doc.track === "standard" ? "Standard-track lead" : "Emergency case"} opened at ${doc.tier} tier. 已立案。`;
      setField("priority", doc.priority).dataset.priority = doc.priority;
      setField("urgency", String(doc.urgency));
      setField("status", doc.status).dataset.status = doc.status;
      showDue(doc);
      factors = (doc.factors ?? []).slice().sort((a, b) => (b.applied !== false) - (a.applied !== false) || b.points - a.points);
    } else {
      summary = `Case opened; its details could not be loaded (${error}).`;
    }
  }
  panel.dataset.state = result.state;
  panel.querySelector(".summary").textContent = summary;
  panel.querySelector(".factors").replaceChildren(...factors.map(factorItem));
  $("#check-again").hidden = result.state !== "pending";
  $("#edit-call").hidden = result.state !== "rejected";
  $("#result-placeholder").hidden = true;
  panel.hidden = false;
  say("");
  $(result.state === "pending" ? "#check-again" : "#new-call").focus();
}

function resetResult() {
  clearInterval(dueTimer);
  panel.hidden = true;
  $("#result-placeholder").hidden = false;
  eventId = null;
}

// ---- wiring ------------------------------------------------------------------------------------

function touch(event) {
  const name = event.target.name;
  if (!name) return;
  event.target.dataset.touched = "1";
  if (serverErrors[name] && serverErrors[name].value !== values()[name]) delete serverErrors[name];
  validate();
}

function askForToken(message) {
  showTokenForm(message);
}

async function checkRole() {
  const { status, role } = await whoAmI();
  if (status === 401) return askForToken("The operator token was not accepted (401). Enter a valid token.");
  $("#role").textContent = role ?? "";
  if (role && role !== "operator" && role !== "admin") {
    askForToken(`This token belongs to ${role}, which may not submit hotline calls. Enter an operator token.`);
  }
}

form.addEventListener("input", touch);
form.addEventListener("focusout", touch);
form.addEventListener("submit", submit);

$("#new-call").addEventListener("click", () => {
  form.reset();
  for (const element of form.elements) delete element.dataset.touched;
  for (const name of Object.keys(RULES)) showError(name, null);
  serverErrors = {};
  idempotencyKey = null;
  resetResult();
  lock(false);
  say("");
  form.elements.caller_phone.focus();
});

// A rejected call keeps what was typed; the corrected call is a new call with a key of its own.
$("#edit-call").addEventListener("click", () => {
  idempotencyKey = null;
  resetResult();
  lock(false);
  form.elements["subject.id_number"].focus();
});

$("#check-again").addEventListener("click", () => {
  say("checking…");
  follow();
});

$("#change-token").addEventListener("click", () => askForToken("Enter another operator token."));

wireTokenForm(() => {
  checkRole();
  validate();
  form.elements.caller_phone.focus();
});

if (takeToken()) checkRole();
else askForToken("Enter an operator token to take calls.");
validate();
