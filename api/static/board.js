"use strict";

const COLOURS = ["red", "yellow", "green"];
const COLUMNS = [...COLOURS, "leads"];
const docs = new Map(); // case_id -> newest case document held
const cards = new Map(); // case_id -> card element
const versions = new Map(); // case_id -> newest version seen, kept after close so a late snapshot cannot revive it
const touched = new Map(); // case_id -> live sequence number of its last live update
let liveSeq = 0;
let token = null;
let source = null;
let retryTimer = null;
let retryDelay = 1000;
let loaded = false; // the first snapshot must not flash every red card at once
let clockSkew = 0; // server time minus browser time, so a wall display with a wrong clock still counts right


function askForToken(message) {
  stopLive();
  setLiveState("signed-out");
  showTokenForm(message);
}

function setLiveState(state) {
  const badge = $("#live-state");
  badge.textContent = state;
  badge.className = `state ${state}`;
}

function renderCountdown(card, doc, now) {
  const el = $(".countdown", card);
  const due = parseTime(doc.due_at);
  const name = humanise(doc.due_deadline || "deadline");
  const overdue = due < now;
  el.textContent = Number.isNaN(due) ? "deadlines met" : `${name} ${overdue ? "overdue" : "in"} ${formatSpan(due - now)}`;
  el.classList.toggle("overdue", overdue);
}

function fill(card, doc) {
  const set = (selector, text) => { $(selector, card).textContent = text ?? ""; };
  card.dataset.caseId = doc.case_id;
  card.dataset.status = doc.status;
  card.dataset.tier = doc.tier;
  card.dataset.track = doc.track;
  set(".priority", doc.priority);
  $(".priority", card).dataset.priority = doc.priority;
  $(".track", card).hidden = doc.track !== "standard";
  set(".category", humanise(doc.category));
  set(".name", doc.subject?.name);
  set(".id-masked", doc.subject?.id_masked);
  set(".tier", doc.tier);
  set(".town", doc.area?.town);
  set(".village", doc.area?.village);
  set(".urgency", doc.urgency);
  set(".case-id", doc.case_id);
  $(".factors", card).replaceChildren(
    ...(doc.factors ?? [])
      .filter((factor) => factor.applied !== false) // shown on the case page, not counted in the score
      .sort((a, b) => b.points - a.points)
      .slice(0, 3)
      .map((factor) => {
        const item = document.createElement("li");
        item.textContent = `${factor.code} ${formatPoints(factor.points)}`;
        item.title = factor.detail ?? "";
        return item;
      }),
  );
  set(".stage-text", stageText(doc));
  card.dataset.stage = doc.stage ?? "";
  renderActions(card, doc);
  renderCountdown(card, doc, Date.now() + clockSkew);
}

// ---- stage and officers' actions ---------------------------------------------------------------

function outcomeText(outcome) {
  const amount = outcome.amount_yuan != null ? ` ¥${outcome.amount_yuan}` : "";
  const referral = outcome.referral ? ` → ${outcome.referral}` : "";
  return `${humanise(outcome.aid_type)}${amount}${referral}`;
}

function stageText(doc) {
  if (!doc.stage) return "";
  const parts = [doc.stage === "assigned" && doc.assignee ? `assigned to ${doc.assignee}` : humanise(doc.stage)];
  if (doc.assignee && doc.stage !== "assigned") parts.push(`assigned to ${doc.assignee}`);
  if (doc.outcome) parts.push(outcomeText(doc.outcome));
  return parts.join(" · ");
}

let canAct = false;
const AID_TYPES = ["cash", "in_kind", "medical", "shelter", "care", "referral"];
// Kept to one word each so a card's buttons fit on one line of a laptop's column; the title says more.
const BUTTON_TITLES = {
  acknowledge: "Acknowledge now: someone is on it (stops the acknowledgement clock)",
  assign: "Assign to a person or unit…",
  deliver: "Record the aid delivered…",
  close: "Close with its outcome…",
  reopen: "Reopen with a reason…",
  note: "Add a note to the timeline…",
};
const SUBMIT_LABELS = { assign: "assign", deliver: "record delivery", close: "close case", reopen: "reopen case", note: "add note" };
const ACTION_FIELDS = {
  acknowledge: [], // one click: the acknowledgement clock is the one that runs out first
  assign: ["assignee", "note"],
  deliver: ["aid_type", "amount_yuan", "referral", "note"],
  close: ["aid_type", "amount_yuan", "referral", "note"],
  reopen: ["reason"],
  note: ["text"],
};
// show/need get the chosen aid type and the action: cash needs an amount, a referral needs the department.
const FIELDS = {
  assignee: { label: "assign to", need: () => true },
  note: { label: "note (optional)" },
  reason: { label: "why reopen", need: () => true },
  text: { label: "note", need: () => true },
  aid_type: { label: "aid given", need: () => true },
  amount_yuan: { label: "amount (yuan)", show: (aid) => aid === "cash", need: () => true },
  // A closing officer may name a department alongside other aid; for a referral it is the whole outcome.
  referral: { label: "referred to (department)", show: (aid, action) => action === "close" || aid === "referral", need: (aid) => aid === "referral" },
};

async function loadRole() {
  const { role } = await whoAmI();
  if (!role) return; // a refused token is reported by resync, which asks for another
  canAct = role === "admin" || role.startsWith("officer:");
  $("#change-token").textContent = role;
  $("#change-token").title = `Signed in as ${role}. Click to use another access token.`;
  for (const [caseId, card] of cards) renderActions(card, docs.get(caseId));
}

function renderActions(card, doc) {
  const box = $(".actions", card);
  const allowed = canAct ? doc.allowed_actions ?? [] : [];
  if (box.dataset.allowed === allowed.join(",")) return; // keep an open form when nothing changed
  box.dataset.allowed = allowed.join(",");
  $(".action-form", card).replaceChildren();
  box.replaceChildren(
    ...allowed.filter((action) => action in ACTION_FIELDS).map((action) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action;
      button.textContent = action;
      button.title = BUTTON_TITLES[action];
      button.addEventListener("click", () => (ACTION_FIELDS[action].length ? openForm(card, action) : send(card, action, {})));
      return button;
    }),
  );
}

function field(name, action) {
  const wrapper = document.createElement("label");
  wrapper.append(name === "aid_type" && action === "close" ? "outcome: aid given" : FIELDS[name].label);
  let input;
  if (name === "aid_type") {
    input = document.createElement("select");
    // No default: a stray Enter must not record cash aid nobody chose.
    input.append(new Option("— choose —", ""), ...AID_TYPES.map((type) => new Option(humanise(type), type)));
  } else {
    input = document.createElement("input");
    input.autocomplete = "off";
    if (name === "amount_yuan") Object.assign(input, { type: "number", min: "0.01", step: "0.01", inputMode: "decimal" });
    if (["note", "reason", "text"].includes(name)) input.maxLength = 2000;
    if (["assignee", "referral"].includes(name)) input.maxLength = 100;
  }
  input.name = name;
  wrapper.append(input);
  return wrapper;
}

function openForm(card, action) {
  const form = document.createElement("form");
  form.dataset.action = action;
  form.setAttribute("aria-label", `${humanise(action)} case ${card.dataset.caseId}`);
  const names = ACTION_FIELDS[action];
  form.append(...names.map((name) => field(name, action)));
  const sync = () => {
    const aid = form.elements.aid_type?.value;
    for (const name of names) {
      const { show, need } = FIELDS[name];
      const input = form.elements[name];
      const shown = !show || show(aid, action);
      input.closest("label").hidden = !shown;
      input.disabled = !shown; // a hidden field is left out of the body
      input.required = shown && Boolean(need?.(aid, action));
    }
  };
  form.addEventListener("change", sync);
  form.addEventListener("input", (event) => event.target.removeAttribute("aria-invalid"));
  sync();
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.className = "primary";
  submit.textContent = SUBMIT_LABELS[action];
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "cancel";
  cancel.addEventListener("click", () => closeForm(card, action));
  form.append(submit, cancel);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeForm(card, action);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(card, action, bodyFor(action, new FormData(form)));
  });
  $(".action-form", card).replaceChildren(form);
  form.querySelector("input:not(:disabled), select")?.focus();
}

function closeForm(card, action) {
  $(".action-form", card).replaceChildren();
  $(`.actions [data-action="${action}"]`, card)?.focus();
}

function bodyFor(action, data) {
  const value = (name) => (data.get(name) || "").trim() || undefined;
  const amount = value("amount_yuan") ? Number(value("amount_yuan")) : undefined;
  const aid = { aid_type: value("aid_type"), amount_yuan: amount, referral: value("referral") };
  switch (action) {
    case "assign": return { assignee: value("assignee"), note: value("note") };
    case "deliver": return { ...aid, note: value("note") };
    case "close": return { outcome: { ...aid, referral: aid.referral ?? null }, note: value("note") };
    case "reopen": return { reason: value("reason") };
    case "note": return { text: value("text") };
    default: return {};
  }
}

function showRefusal(card, reason) {
  const refusal = $(".refusal", card);
  refusal.textContent = reason ?? "";
  refusal.hidden = !reason;
}

function showPending(card, text) {
  const pending = $(".pending", card);
  pending.textContent = text ?? "";
  pending.hidden = !text;
}

// Point at the form fields a 422 names, so the officer sees what to correct.
function markInvalid(card, answer) {
  const form = $(".action-form form", card);
  if (!form || !Array.isArray(answer.detail)) return;
  for (const error of answer.detail) {
    const name = Array.isArray(error.loc) ? error.loc[error.loc.length - 1] : null;
    form.elements[name]?.setAttribute?.("aria-invalid", "true");
  }
}

// The case as the read model has it now, for when the live stream is slow or down.
async function refresh(caseId) {
  const response = await api(`/v1/cases/${encodeURIComponent(caseId)}`);
  if (!response.ok) return;
  const doc = await response.json();
  touched.set(doc.case_id, ++liveSeq);
  upsert(doc);
  renderCounts();
}

async function send(card, action, body) {
  const caseId = card.dataset.caseId;
  const controls = card.querySelectorAll(".actions button, .action-form button");
  controls.forEach((button) => { button.disabled = true; });
  card.setAttribute("aria-busy", "true");
  showRefusal(card, null);
  showPending(card, `${humanise(action)}: sending…`);
  let waiting = null;
  try {
    const response = await api(`/v1/cases/${encodeURIComponent(caseId)}/${action === "note" ? "notes" : action}`, { json: body });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401) {
      showRefusal(card, explain(answer));
      askForToken("The access token was not accepted (401). Enter a valid token.");
      return;
    }
    if (response.status !== 202) {
      // 403 wrong tier or area, 404 unknown case, 409 not in this stage, 422 bad fields
      markInvalid(card, answer);
      showRefusal(card, explain(answer));
      return;
    }
    $(".action-form", card).replaceChildren();
    showPending(card, `${humanise(action)}: accepted, waiting for the case agent…`);
    // The API checked against the read model; the case agent decides, and may still refuse.
    const result = await outcomeOf(answer.command_id);
    if (result.state === "rejected") showRefusal(card, result.reason || `${humanise(action)} was refused`);
    else if (result.state === "pending") waiting = `${humanise(action)}: ${result.reason}`;
    else await refresh(caseId);
  } catch {
    showRefusal(card, "the server could not be reached; try again");
  } finally {
    showPending(card, waiting);
    card.removeAttribute("aria-busy");
    controls.forEach((button) => { button.disabled = false; });
  }
}

// ---- filters -----------------------------------------------------------------------------------

const FILTERS = { tier: "#filter-tier", town: "#filter-town", priority: "#filter-priority", colour: "#filter-colour" };

function filterValues() {
  return Object.fromEntries(Object.entries(FILTERS).map(([key, selector]) => [key, $(selector).value.trim()]));
}

function matchesFilters(doc, f = filterValues()) {
  // Town matches by prefix, so a partly typed code already narrows the board.
  return (!f.tier || doc.tier === f.tier) && (!f.town || String(doc.area?.town ?? "").startsWith(f.town))
    && (!f.priority || doc.priority === f.priority) && (!f.colour || doc.status === f.colour);
}

function applyFilters() {
  const f = filterValues();
  for (const [caseId, card] of cards) card.hidden = !matchesFilters(docs.get(caseId), f);
  renderCounts();
  // Keep the choice in the address, so a wall display can be bookmarked with its filters.
  const url = new URL(location.href);
  for (const [key, value] of Object.entries(f)) {
    if (value) url.searchParams.set(key, value);
    else url.searchParams.delete(key);
  }
  history.replaceState(history.state, "", url);
}

function restoreFilters() {
  const params = new URL(location.href).searchParams;
  for (const [key, selector] of Object.entries(FILTERS)) if (params.get(key)) $(selector).value = params.get(key);
}

for (const selector of Object.values(FILTERS)) $(selector).addEventListener("input", applyFilters);
$("#filter-clear").addEventListener("click", () => {
  for (const selector of Object.values(FILTERS)) $(selector).value = "";
  applyFilters();
});

// The town choices offered are the towns on the board now.
function renderTowns() {
  const towns = [...new Set([...docs.values()].map((doc) => doc.area?.town).filter(Boolean))].sort();
  const list = $("#towns");
  if (list.dataset.towns === towns.join(",")) return;
  list.dataset.towns = towns.join(",");
  list.replaceChildren(...towns.map((town) => new Option(town, town)));
}

function sortKey(doc) {
  const due = parseTime(doc.due_at);
  return Number.isNaN(due) ? Infinity : due;
}

const columnOf = (doc) => (doc.track === "standard" ? "leads" : doc.status);

function place(card, doc) {
  // Emergency cases sit in their colour's column; standard-track leads have a column of their own.
  const column = $(`[data-column="${columnOf(doc)}"] .cards`);
  const key = sortKey(doc);
  const before = [...column.children].find((other) => {
    if (other === card) return false;
    const otherDoc = docs.get(other.dataset.caseId);
    const otherKey = sortKey(otherDoc);
    return otherKey > key || (otherKey === key && otherDoc.case_id > doc.case_id);
  });
  if (card.parentElement !== column || card.nextElementSibling !== (before ?? null)) {
    // Moving a card blurs whatever had focus in it, such as an officer typing in an action form.
    const focused = card.contains(document.activeElement) ? document.activeElement : null;
    column.insertBefore(card, before ?? null);
    focused?.focus();
  }
}

function flash(card) {
  card.classList.remove("flash");
  void card.offsetWidth; // force a reflow so a repeated flash restarts the animation
  card.classList.add("flash");
}

function remove(caseId) {
  cards.get(caseId)?.remove();
  cards.delete(caseId);
  docs.delete(caseId);
}

function upsert(doc) {
  const held = docs.get(doc.case_id);
  if ((versions.get(doc.case_id) ?? -1) >= doc.version) return;
  versions.set(doc.case_id, doc.version);
  if (doc.status === "closed" || !COLOURS.includes(doc.status)) {
    remove(doc.case_id);
    return;
  }
  let card = cards.get(doc.case_id);
  if (!card) {
    card = $("#card-template").content.firstElementChild.cloneNode(true);
    card.addEventListener("animationend", () => card.classList.remove("flash"));
    cards.set(doc.case_id, card);
  }
  docs.set(doc.case_id, doc);
  fill(card, doc);
  card.hidden = !matchesFilters(doc);
  place(card, doc);
  if (doc.status === "red" && (held ? held.status !== "red" : loaded)) flash(card);
  if (location.hash === `#${doc.case_id}` && !card.classList.contains("target")) showTarget(card);
}

// The intake page links to /#<case id>: point that card out once it arrives.
function showTarget(card) {
  card.classList.add("target");
  requestAnimationFrame(() => card.scrollIntoView({ block: "center" }));
}

function renderCounts() {
  for (const column of COLUMNS) {
    $(`[data-count="${column}"]`).textContent = $(`[data-column="${column}"] .cards`).querySelectorAll(":scope > :not([hidden])").length;
  }
  $("#total").textContent = cards.size;
  const filtered = Object.values(filterValues()).some(Boolean);
  const shown = $("#shown");
  shown.hidden = !filtered;
  shown.textContent = ` · ${[...cards.values()].filter((card) => !card.hidden).length} shown`;
  $("#filter-clear").hidden = !filtered;
  renderTowns();
}

async function resync() {
  const startedAt = liveSeq;
  let response;
  try {
    response = await fetch("/v1/cases?state=open&limit=500", { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
  } catch {
    return "offline";
  }
  if (response.status === 401 || response.status === 403) {
    // Cards this token may no longer read must not stay up looking current.
    for (const caseId of [...docs.keys()]) remove(caseId);
    versions.clear();
    touched.clear();
    renderCounts();
    askForToken(response.status === 401
      ? "The access token was not accepted (401). Enter a valid token."
      : "This token may not read cases (403). Enter another token.");
    return "denied";
  }
  if (!response.ok) return "error";
  const serverNow = Date.parse(response.headers.get("Date"));
  if (!Number.isNaN(serverNow)) clockSkew = Math.abs(serverNow - Date.now()) > 5000 ? serverNow - Date.now() : 0;
  const { items = [], total = items.length } = await response.json();
  const open = new Set(items.map((doc) => doc.case_id));
  for (const caseId of [...versions.keys()]) {
    // A case missing from the snapshot is closed, unless a live event brought it in after the request left.
    if (open.has(caseId) || (touched.get(caseId) ?? 0) > startedAt) continue;
    remove(caseId);
    versions.delete(caseId);
    touched.delete(caseId);
  }
  for (const doc of items) upsert(doc);
  loaded = true;
  const truncated = $("#truncated");
  truncated.hidden = total <= items.length;
  truncated.textContent = `showing first ${items.length} of ${total}`;
  renderCounts();
  return "ok";
}

function stopLive() {
  clearTimeout(retryTimer);
  source?.close();
  source = null;
}

function connect() {
  stopLive();
  $("#token-form").hidden = true;
  const es = new EventSource(`/v1/live?token=${encodeURIComponent(token)}`);
  source = es;
  es.addEventListener("open", () => {
    setLiveState("live");
    retryDelay = 1000;
    resync();
  });
  es.addEventListener("error", async () => {
    if (es !== source) return;
    setLiveState("reconnecting");
    // EventSource retries network drops itself, but gives up for good on an HTTP error such as 401.
    if (es.readyState !== EventSource.CLOSED) return;
    const outcome = await resync();
    if (outcome === "denied" || es !== source) return;
    retryTimer = setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  });
  es.addEventListener("case", (message) => {
    let doc;
    try {
      doc = JSON.parse(message.data).case;
    } catch {
      return; // one unreadable message must not stop the board
    }
    if (!doc?.case_id) return;
    touched.set(doc.case_id, ++liveSeq);
    upsert(doc);
    renderCounts();
  });
}

wireTokenForm((entered) => {
  token = entered;
  loadRole();
  connect();
  resync();
});

$("#change-token").addEventListener("click", () => askForToken("Enter another access token."));

setInterval(() => {
  const now = Date.now() + clockSkew;
  for (const [caseId, card] of cards) renderCountdown(card, docs.get(caseId), now);
}, 1000);

restoreFilters();
token = takeToken();
if (token) {
  loadRole();
  connect();
  resync(); // show the snapshot at once, even if the live stream is slow to open
} else {
  askForToken("Enter an access token to open the duty board.");
}
