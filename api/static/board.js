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
  $("#token-message").textContent = message;
  $("#token-form").hidden = false;
  $("#token-input").focus();
}

function setLiveState(state) {
  const badge = $("#live-state");
  badge.textContent = state;
  badge.className = `state ${state}`;
}


function parseTime(iso) {
  // Python may send microseconds, which not every browser's Date.parse accepts.
  return iso ? Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1")) : NaN;
}

function formatSpan(ms) {
  const total = Math.floor(Math.abs(ms) / 1000);
  const pad = (n) => String(n).padStart(2, "0");
  const [d, h, m, s] = [Math.floor(total / 86400), Math.floor(total / 3600) % 24, Math.floor(total / 60) % 60, total % 60];
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}:${pad(m)}:${pad(s)}`;
  if (m) return `${pad(m)}:${pad(s)}`;
  return `${s}s`;
}

function renderCountdown(card, doc, now) {
  const el = $(".countdown", card);
  const due = parseTime(doc.due_at);
  const name = humanise(doc.due_deadline || "deadline");
  const overdue = due < now;
  el.textContent = Number.isNaN(due) ? "deadlines met" : `${name} ${overdue ? "overdue" : "in"} ${formatSpan(due - now)}`;
  el.classList.toggle("overdue", overdue);
}

function formatPoints(points) {
  const n = Math.round(Number(points) * 10) / 10;
  return n < 0 ? `−${-n}` : `+${n}`;
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
  const stage = doc.stage ? humanise(doc.stage) : "";
  set(".stage-text", doc.assignee ? `${stage} · assigned to ${doc.assignee}` : stage);
  card.dataset.stage = doc.stage ?? "";
  renderActions(card, doc);
  renderCountdown(card, doc, Date.now() + clockSkew);
}

// ---- officers' actions -------------------------------------------------------------------------

let canAct = false;
const AID_TYPES = ["cash", "in_kind", "medical", "shelter", "care", "referral"];
const ACTION_FIELDS = {
  acknowledge: [],
  assign: [["assignee", "assign to"], ["note", "note (optional)"]],
  deliver: [["aid_type", "aid given"], ["amount_yuan", "amount (yuan, for cash)"], ["note", "note (optional)"]],
  close: [["aid_type", "outcome"], ["amount_yuan", "amount (yuan, for cash)"], ["referral", "referred to (department)"], ["note", "note (optional)"]],
  reopen: [["reason", "why reopen"]],
  note: [["text", "note"]],
};

async function loadRole() {
  const response = await api("/v1/me");
  if (!response.ok) return;
  const { role } = await response.json();
  canAct = role === "admin" || role.startsWith("officer:");
  for (const [caseId, card] of cards) renderActions(card, docs.get(caseId));
}

function renderActions(card, doc) {
  const box = $(".actions", card);
  const allowed = canAct ? doc.allowed_actions ?? [] : [];
  if (box.dataset.allowed === allowed.join(",")) return; // keep an open form when nothing changed
  box.dataset.allowed = allowed.join(",");
  $(".action-form", card).replaceChildren();
  box.replaceChildren(
    ...allowed.map((action) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action;
      button.textContent = action;
      button.addEventListener("click", () => (ACTION_FIELDS[action].length ? openForm(card, action) : send(card, action, {})));
      return button;
    }),
  );
}

function field(name, label) {
  const wrapper = document.createElement("label");
  wrapper.append(label, " ");
  let input;
  if (name === "aid_type") {
    input = document.createElement("select");
    input.append(...AID_TYPES.map((type) => new Option(humanise(type), type)));
  } else {
    input = document.createElement("input");
    if (name === "amount_yuan") Object.assign(input, { type: "number", min: "1", step: "1" });
    input.required = ["assignee", "reason", "text"].includes(name);
  }
  input.name = name;
  wrapper.append(input);
  return wrapper;
}

function openForm(card, action) {
  const form = document.createElement("form");
  form.dataset.action = action;
  form.append(...ACTION_FIELDS[action].map(([name, label]) => field(name, label)));
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.textContent = `${action} now`;
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "cancel";
  cancel.addEventListener("click", () => form.remove());
  form.append(submit, cancel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(card, action, bodyFor(action, new FormData(form)));
  });
  $(".action-form", card).replaceChildren(form);
  form.querySelector("input, select")?.focus();
}

function bodyFor(action, data) {
  const value = (name) => (data.get(name) || "").trim() || undefined;
  const amount = value("amount_yuan") ? Number(value("amount_yuan")) : undefined;
  const aid = { aid_type: value("aid_type"), amount_yuan: amount };
  switch (action) {
    case "assign": return { assignee: value("assignee"), note: value("note") };
    case "deliver": return { ...aid, note: value("note") };
    case "close": return { outcome: { ...aid, referral: value("referral") }, note: value("note") };
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

async function send(card, action, body) {
  const caseId = card.dataset.caseId;
  const buttons = card.querySelectorAll(".actions button, .action-form button");
  buttons.forEach((button) => { button.disabled = true; });
  showRefusal(card, null);
  try {
    const response = await api(`/v1/cases/${caseId}/${action === "note" ? "notes" : action}`, { json: body });
    const answer = await response.json().catch(() => ({}));
    if (response.status !== 202) return showRefusal(card, explain(answer));
    $(".action-form", card).replaceChildren();
    // The API checked against the read model; the case agent decides, and may still refuse.
    const result = await outcomeOf(answer.command_id);
    if (result.state === "rejected") showRefusal(card, result.reason);
  } catch {
    showRefusal(card, "the server could not be reached; try again");
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
  }
}

// ---- filters -----------------------------------------------------------------------------------

function matchesFilters(doc) {
  const tier = $("#filter-tier").value;
  const town = $("#filter-town").value.trim();
  const priority = $("#filter-priority").value;
  const colour = $("#filter-colour").value;
  return (!tier || doc.tier === tier) && (!town || doc.area.town.startsWith(town))
    && (!priority || doc.priority === priority) && (!colour || doc.status === colour);
}

function applyFilters() {
  for (const [caseId, card] of cards) card.hidden = !matchesFilters(docs.get(caseId));
  renderCounts();
}

for (const id of ["#filter-tier", "#filter-town", "#filter-priority", "#filter-colour"]) {
  $(id).addEventListener("input", applyFilters);
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
  if (card.parentElement !== column || card.nextElementSibling !== (before ?? null)) column.insertBefore(card, before ?? null);
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
}

function renderCounts() {
  for (const column of COLUMNS) {
    $(`[data-count="${column}"]`).textContent = $(`[data-column="${column}"] .cards`).querySelectorAll(":scope > :not([hidden])").length;
  }
  $("#total").textContent = cards.size;
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

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("#token-input").value.trim();
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  $("#token-input").value = "";
  loadRole();
  connect();
  resync();
});

$("#change-token").addEventListener("click", () => askForToken("Enter another access token."));

setInterval(() => {
  const now = Date.now() + clockSkew;
  for (const [caseId, card] of cards) renderCountdown(card, docs.get(caseId), now);
}, 1000);

token = takeToken();
if (token) {
  loadRole();
  connect();
  resync(); // show the snapshot at once, even if the live stream is slow to open
} else {
  askForToken("Enter an access token to open the duty board.");
}
