"use strict";

const form = $("#call-form");
const panel = $("#result");
const CATEGORIES = [
  "medical_emergency", "accident_or_disaster", "no_food_or_shelter", "child_unattended", "elderly_or_disabled_unattended", "loss_of_income", "other",
];
let idempotencyKey = null; // one per call, reused when the operator retries after a network failure
let eventId = null; // the accepted call being followed
let serverErrors = {}; // field -> {value, msg} from a 422, shown until that field is edited
let dueTimer = null;
let shown = null; // the result on the panel, {result, doc, error}, so a language switch can render it again
let message = null; // the status line under the button, as [key, params], for the same reason

// ---- places: town → village → grid by name, or by code -----------------------------------------

const townOf = (code) => register?.towns?.find((town) => town.code === code);
const villageOf = (code) => townOf(code.slice(0, 9))?.villages?.find((village) => village.code === code);
const villagesIn = (townCode) => townOf(townCode)?.villages ?? [];

// The code of what the operator typed: a code as typed, or the code of the one place among choices with that name.
function placeCode(typed, choices) {
  const text = typed.replace(/\s+/g, " ").trim();
  if (/^[\d\s-]+$/.test(text)) return text.replace(/\s/g, "");
  const named = choices.filter((place) => place.name === text || `${place.name} ${place.code}` === text);
  return named.length === 1 ? named[0].code : text;
}

// A village typed before its town is looked up in the whole county.
const allVillages = () => (register?.towns ?? []).flatMap((town) => town.villages ?? []);

// What the operator types is tidied the way the server would accept it (spaces in phone and ID numbers are common).
const tidy = {
  caller_phone: (v) => v.replace(/[\s-]/g, ""),
  "subject.id_number": (v) => v.replace(/\s/g, "").toUpperCase(),
  "area.town": (v) => placeCode(v, register?.towns ?? []),
  "area.village": (v, all) => placeCode(v, all["area.town"] && townOf(all["area.town"]) ? villagesIn(all["area.town"]) : allVillages()),
  "area.grid": (v, all) => placeCode(v, villageOf(all["area.village"] ?? "")?.grids ?? []),
};

// Why a place code is not acceptable, or null; digits says how long the code is.
function placeError(code, digits, kind) {
  if (!code) return t("intake.error.required");
  if (!/^\d+$/.test(code)) return t(`intake.error.unknown_${kind}`);
  if (code.length !== digits) return t("intake.error.code_length", { digits, typed: code.length });
  if (register && !places.has(code)) return t(`intake.error.unknown_${kind}`);
  return null;
}

// Each rule returns an error message or null; it sees every field's (tidied) value.
const RULES = {
  caller_phone: (v) => (/^\+?\d{5,20}$/.test(v) ? null : t("intake.error.phone")),
  // Without an ID number the name may be unknown too, but the person must be described.
  "subject.name": (v, all) => (!v && !all.id_unknown ? t("intake.error.required") : [...v].length > 50 ? t("intake.error.too_long", { n: 50 }) : null),
  "subject.id_number": (v, all) => (all.id_unknown ? null : idNumberError(v)),
  "subject.sex": (v, all) => (all.id_unknown && !v ? t("intake.error.required") : null),
  "subject.approximate_age": (v, all) => (!all.id_unknown || (/^\d+$/.test(v) && Number(v) <= 120) ? null : t("intake.error.age")),
  "subject.description": (v, all) => {
    if (!all.id_unknown) return null;
    return !v ? t("intake.error.required") : [...v].length > 500 ? t("intake.error.too_long", { n: 500 }) : null;
  },
  "area.town": (v) => placeError(v, 9, "town"),
  "area.village": (v, all) => placeError(v, 12, "village") ?? (v.startsWith(all["area.town"]) ? null : t("intake.error.village_not_in_town")),
  "area.grid": (v, all) => {
    if (!v) return null;
    if (!/^\d{12}-\d{2,4}$/.test(v)) return t(/^[\d-]+$/.test(v) ? "intake.error.grid_format" : "intake.error.unknown_grid");
    if (!v.startsWith(all["area.village"])) return t("intake.error.grid_not_in_village");
    return register && !places.has(v) ? t("intake.error.unknown_grid") : null;
  },
  category: (v) => (v ? null : t("intake.error.category")),
  description: (v) => ([...v].length <= 2000 ? null : t("intake.error.too_long", { n: 2000 })),
  "flags.children": (v) => (/^\d+$/.test(v) && Number(v) <= 20 ? null : t("intake.error.children")),
};

function values() {
  const all = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    const value = element.type === "checkbox" ? element.checked : element.value.trim();
    all[element.name] = tidy[element.name] ? tidy[element.name](value, all) : value;
  }
  return all;
}

function showError(name, text) {
  const slot = document.getElementById(`error-${name}`);
  if (slot) slot.textContent = text ?? "";
  form.elements[name]?.setAttribute("aria-invalid", text ? "true" : "false");
}

// The choices offered follow what is chosen above them: a town's villages, a village's grids.
function offerChoices(all) {
  const fill = (id, choices, key) => {
    const list = document.getElementById(id);
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    list.replaceChildren(...choices.map((place) => Object.assign(document.createElement("option"), { value: place.name, label: place.code })));
  };
  fill("town-choices", register?.towns ?? [], register ? "county" : "");
  fill("village-choices", townOf(all["area.town"]) ? villagesIn(all["area.town"]) : [], all["area.town"]);
  fill("grid-choices", villageOf(all["area.village"])?.grids ?? [], all["area.village"]);
}

// Under each place field, the place understood ("景芝镇 · 370784101"), so the operator can read it back.
function showPlaceHints(all, invalid) {
  for (const name of ["area.town", "area.village", "area.grid"]) {
    const code = all[name];
    const known = code && !invalid.includes(name) && places.has(code);
    document.getElementById(`hint-${name}`).textContent = known ? `✓ ${placeName(code)} · ${code}` : "";
  }
}

// Errors show for fields the operator has touched; the button waits for the whole form.
function validate(showAll = false) {
  const all = values();
  const invalid = [];
  for (const [name, rule] of Object.entries(RULES)) {
    const server = serverErrors[name];
    const text = rule(all[name], all) ?? (server && server.value === all[name] ? server.msg : null);
    if (text) invalid.push(name);
    if (showAll || form.elements[name].dataset.touched) showError(name, text);
  }
  showIdentity(all.id_unknown);
  const locked = $("#call-fields").disabled;
  $("#submit-call").disabled = invalid.length > 0 || locked;
  $("#form-hint").textContent = invalid.length && !locked ? t("intake.still_needed", { fields: invalid.map((n) => t(`intake.name.${n}`)).join("、") }) : "";
  showIdHint(all["subject.id_number"], !invalid.includes("subject.id_number"));
  showPlaceHints(all, invalid);
  offerChoices(all);
  $("#count-description").textContent = `${[...all.description].length} / 2000`;
  return invalid.length === 0;
}

// The ID number, or (when nobody knows it) the person's sex, age and looks.
function showIdentity(unknown) {
  $("#identified").hidden = unknown;
  $("#unidentified").hidden = !unknown;
  document.getElementById("label-subject.name").textContent = t(unknown ? "intake.field.name_optional" : "intake.field.name");
}

// Reading the birth date back lets the operator confirm the number with the caller.
function showIdHint(value, valid) {
  const born = valid ? birthDateOf(value) : null;
  let text = "";
  if (born) {
    const today = new Date();
    const age = today.getFullYear() - born.getUTCFullYear()
      - (today.getMonth() < born.getUTCMonth() || (today.getMonth() === born.getUTCMonth() && today.getDate() < born.getUTCDate()) ? 1 : 0);
    text = t("intake.id_hint", { date: born.toISOString().slice(0, 10), age });
  }
  document.getElementById("hint-subject.id_number").textContent = text;
}

function body(all) {
  return {
    caller_phone: all.caller_phone,
    subject: all.id_unknown
      ? {
          ...(all["subject.name"] ? { name: all["subject.name"] } : {}),
          sex: all["subject.sex"],
          approximate_age: Number(all["subject.approximate_age"]),
          description: all["subject.description"],
        }
      : { id_number: all["subject.id_number"], name: all["subject.name"] },
    area: { town: all["area.town"], village: all["area.village"], ...(all["area.grid"] ? { grid: all["area.grid"] } : {}) },
    category: all.category,
    description: all.description,
    flags: { children: Number(all["flags.children"]), elderly_alone: all["flags.elderly_alone"], disabled: all["flags.disabled"], pregnant: all["flags.pregnant"] },
  };
}

// The status line under the submit button; key null clears it, extra is text from the server appended as is.
function tell(key, params = {}, extra = "") {
  message = key ? [key, params, extra] : null;
  $("#form-message").textContent = key ? `${t(key, params)}${extra}` : "";
}

// Locked while the call is being processed and its result shown, so a changed form is never sent under the old key.
function lock(locked) {
  $("#call-fields").disabled = locked;
  validate();
}

// Field errors from a 422 go next to their fields; any the form has no field for are listed under the button.
function showServerErrors(detail, all) {
  const unplaced = [];
  for (const error of Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail ?? "") }]) {
    const name = fieldPath(error.loc);
    if (name in RULES) {
      serverErrors[name] = { value: all[name], msg: error.msg };
      form.elements[name].dataset.touched = "1";
    } else if (error.msg) {
      unplaced.push(name ? `${name}: ${error.msg}` : error.msg);
    }
  }
  validate(true);
  tell("intake.message.correct", {}, unplaced.length ? ` — ${unplaced.join("; ")}` : "");
}

async function submit(event) {
  event.preventDefault();
  if (!validate(true) || $("#call-fields").disabled) return;
  idempotencyKey ||= newKey();
  const all = values();
  $("#submit-call").disabled = true;
  tell("intake.message.sending");
  let response;
  try {
    response = await api("/v1/hotline/calls", { json: body(all), headers: { "Idempotency-Key": idempotencyKey } });
  } catch {
    tell("intake.message.offline");
    validate();
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) {
    validate();
    tell("intake.message.not_accepted", { status: response.status }, explain(answer));
    showTokenForm(t("intake.token.refused", { status: response.status }));
    return;
  }
  if (response.status === 422) {
    showServerErrors(answer.detail, all);
    return;
  }
  // 409: the key already carried this call as it was before an edit (sent, then the network failed); pressing
  // again sends the edited call as a call of its own rather than failing on the same key forever.
  if (response.status === 409) idempotencyKey = null;
  if (response.status !== 202 || !answer.event_id) {
    tell("intake.message.not_accepted", { status: response.status }, `${explain(answer)} — ${t("intake.message.press_again")}`);
    validate();
    return;
  }
  eventId = answer.event_id;
  lock(true);
  tell(answer.replayed ? "intake.message.replayed" : "intake.message.accepted");
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
  item.textContent = factorText(factor);
  item.title = factor.detail ? `${factor.code} — ${factor.detail}` : factor.code;
  if (factor.applied === false) {
    item.classList.add("unapplied");
    item.append(t("intake.result.not_counted"));
  }
  return item;
}

function showDue(doc) {
  clearInterval(dueTimer);
  const due = parseTime(doc.due_at);
  if (Number.isNaN(due)) return setField("due", t("common.deadlines_met"));
  const render = () => {
    const left = due - Date.now();
    const span = t(left < 0 ? "board.countdown.overdue" : "board.countdown.left", { span: spanText(left) });
    setField("due", `${t("board.due", { deadline: word("deadline", doc.due_deadline), clock: clockText(due) })} ${span}`);
  };
  render();
  dueTimer = setInterval(render, 1000);
}

async function loadCase(caseId) {
  try {
    const response = await api(`/v1/cases/${encodeURIComponent(caseId)}`);
    return response.ok ? { doc: await response.json() } : { error: explain(await response.json().catch(() => ({}))) };
  } catch {
    return { error: t("common.error.offline") };
  }
}

async function showResult(result) {
  const { doc, error } = result.state === "processed" && result.case_id ? await loadCase(result.case_id) : {};
  shown = { result, doc, error };
  renderResult();
  tell(null);
  $(result.state === "pending" ? "#check-again" : "#new-call").focus();
}

function summaryOf({ result, doc, error }) {
  if (result.state === "rejected") return t("intake.result.rejected", { reason: reasonText(result) || t("intake.result.no_reason") });
  if (result.state === "pending") return t("intake.result.pending", { reason: result.reason });
  if (!result.case_id) return t("intake.result.timeline_only");
  if (!doc) return t("intake.result.details_failed", { error });
  const opened = t(doc.track === "standard" ? "intake.result.opened_lead" : "intake.result.opened_emergency", { tier: word("tier", doc.tier) });
  return doc.identity_verified === false ? `${opened}${t("intake.result.unverified")}` : opened;
}

function renderResult() {
  const { result, doc } = shown;
  clearInterval(dueTimer);
  for (const name of ["case_id", "priority", "urgency", "status", "place", "due"]) setField(name, null);
  const link = panel.querySelector('[data-field="case_id"]');
  link.removeAttribute("href");
  panel.querySelector('[data-field="status"]').removeAttribute("data-status");
  panel.querySelector('[data-field="priority"]').removeAttribute("data-priority");
  if (result.state === "processed") setField("urgency", result.urgency === "" || result.urgency == null ? null : String(result.urgency));
  if (result.case_id) {
    setField("case_id", result.case_id);
    link.href = `/#${encodeURIComponent(result.case_id)}`;
  }
  let factors = [];
  if (doc) {
    setField("priority", word("priority", doc.priority)).dataset.priority = doc.priority;
    setField("urgency", String(doc.urgency));
    setField("status", word("colour", doc.status)).dataset.status = doc.status;
    setField("place", [doc.area?.town, doc.area?.village, doc.area?.grid].filter(Boolean).map(placeName).join(" · "));
    showDue(doc);
    factors = (doc.factors ?? []).slice().sort((a, b) => (b.applied !== false) - (a.applied !== false) || b.points - a.points);
  }
  panel.dataset.state = result.state;
  panel.querySelector(".summary").textContent = summaryOf(shown);
  panel.querySelector(".factors").replaceChildren(...factors.map(factorItem));
  $("#check-again").hidden = result.state !== "pending";
  $("#edit-call").hidden = result.state !== "rejected";
  $("#result-placeholder").hidden = true;
  panel.hidden = false;
}

function resetResult() {
  clearInterval(dueTimer);
  panel.hidden = true;
  $("#result-placeholder").hidden = false;
  eventId = null;
  shown = null;
}

// ---- wiring ------------------------------------------------------------------------------------

function touch(event) {
  const name = event.target.name;
  // While an input method is composing (拼音 → 汉字), the half-typed letters are not the answer yet.
  if (!name || event.isComposing) return;
  event.target.dataset.touched = "1";
  fillTownOfVillage(name);
  if (serverErrors[name] && serverErrors[name].value !== values()[name]) delete serverErrors[name];
  validate();
}

// A village named (or coded) before its town, when it is the only one of that name, brings its town along.
function fillTownOfVillage(name) {
  const town = form.elements["area.town"];
  if (name !== "area.village" || town.value.trim()) return;
  const village = places.get(values()["area.village"]);
  if (village?.kind === "village") town.value = placeName(village.town);
}

function askForToken(text) {
  showTokenForm(text);
}

async function checkRole() {
  const { status, role, name } = await whoAmI();
  if (status === 401) return askForToken(t("intake.token.refused", { status }));
  $("#role").textContent = role ? actorText(role, name) : "";
  if (role && role !== "operator" && role !== "admin") askForToken(t("intake.token.wrong_role", { role: actorText(role, name) }));
}

function renderCategories() {
  const select = form.elements.category;
  const chosen = select.value;
  select.replaceChildren(new Option(t("common.choose"), ""), ...CATEGORIES.map((code) => new Option(word("category", code), code)));
  select.value = chosen;
}

function renderSexes() {
  const select = form.elements["subject.sex"];
  const chosen = select.value;
  select.replaceChildren(new Option(t("common.choose"), ""), ...["male", "female"].map((code) => new Option(word("sex", code), code)));
  select.value = chosen;
}

function retranslate() {
  renderCategories();
  renderSexes();
  validate();
  if (message) tell(...message);
  if (shown) renderResult();
  checkRole();
}

form.addEventListener("input", touch);
form.addEventListener("compositionend", touch);
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
  tell(null);
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
  tell("intake.message.checking");
  follow();
});

$("#change-token").addEventListener("click", () => askForToken(t("intake.token.another")));

wireTokenForm(() => {
  checkRole();
  validate();
  form.elements.caller_phone.focus();
});

async function boot() {
  await Promise.all([loadLanguage(language), loadRegister()]);
  document.body.classList.remove("loading");
  renderCategories();
  renderSexes();
  wireLanguageSwitch(retranslate);
  if (takeToken()) checkRole();
  else askForToken(t("intake.token.enter"));
  validate();
}

boot();
