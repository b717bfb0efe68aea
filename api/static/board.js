"use strict";

const COLOURS = ["red", "yellow", "green"];
const COLUMNS = [...COLOURS, "leads"];
const PRIORITY_RANK = { P1: 0, P2: 1, P3: 2 };
const docs = new Map(); // case_id -> newest case document held
const cards = new Map(); // case_id -> card element, built once and refilled on each update
const versions = new Map(); // case_id -> newest version seen, kept after close so a late snapshot cannot revive it
const touched = new Map(); // case_id -> live sequence number of its last live update
const lists = Object.fromEntries(COLUMNS.map((column) => [column, []])); // column -> case ids in display order
const columnOfCase = new Map(); // case_id -> the column its card sits in
const pendingNotes = new Map(); // case_id -> notes sent but not yet on the timeline: [{commandId, text, failed}]
let liveSeq = 0;
let token = null;
let me = { role: null, name: null };
let liveState = "reconnecting";
let source = null;
let retryTimer = null;
let retryDelay = 1000;
let loaded = false; // the first snapshot must not flash every red card at once
let clockSkew = 0; // server time minus browser time, so a wall display with a wrong clock still counts right
let truncation = null; // {shown, total} when the snapshot holds fewer cases than are open

function askForToken(message) {
  stopLive();
  setLiveState("signed-out");
  showTokenForm(message);
}

function setLiveState(state) {
  liveState = state;
  const badge = $("#live-state");
  badge.textContent = t(`board.live.${state}`);
  badge.className = `state ${state}`;
}

// ---- one card ----------------------------------------------------------------------------------

function renderCountdown(card, doc, now) {
  const el = $(".countdown", card);
  const due = parseTime(doc.due_at);
  const overdue = due < now;
  let text = "";
  if (!Number.isNaN(due)) text = t(overdue ? "board.countdown.overdue" : "board.countdown.left", { span: spanText(due - now) });
  if (el.textContent !== text) el.textContent = text;
  el.classList.toggle("overdue", overdue);
}

const setText = (card, selector, text) => {
  $(selector, card).textContent = text ?? "";
};

// The reports newest first; a case document without them (older worker) has none.
const reportsOf = (doc) => [...(doc.reports ?? [])].sort((a, b) => parseTime(b.reported_at) - parseTime(a.reported_at));
const firstLine = (text) => String(text ?? "").trim().split("\n", 1)[0];

function fill(card, doc) {
  card.dataset.caseId = doc.case_id;
  card.dataset.status = doc.status;
  card.dataset.tier = doc.tier;
  card.dataset.track = doc.track;
  card.dataset.stage = doc.stage ?? "";
  card.dataset.priority = doc.priority;
  const priority = $(".priority", card);
  priority.textContent = doc.priority;
  priority.dataset.priority = doc.priority;
  priority.title = word("priority", doc.priority);
  $(".lead-badge", card).hidden = doc.track !== "standard" || columnOf(doc) === "leads"; // the leads column says it already
  setText(card, ".category", word("category", doc.category));
  $(".unverified", card).hidden = doc.identity_verified !== false;
  const village = $(".village", card);
  village.textContent = placeName(doc.area?.village);
  village.title = [placeName(doc.area?.town), placeName(doc.area?.village), doc.area?.village].filter(Boolean).join(" · ");
  const due = parseTime(doc.due_at);
  setText(card, ".due", Number.isNaN(due) ? t("common.deadlines_met") : t("board.due", { deadline: word("deadline", doc.due_deadline), clock: clockText(due) }));
  setText(card, ".stage-text", stageText(doc));
  // A declined referral comes back to the officer: shown on the collapsed card too, until the case is referred again.
  const latestReferral = (doc.referrals ?? []).at(-1);
  const badge = $(".referral-badge", card);
  badge.hidden = latestReferral?.status !== "declined";
  badge.textContent = badge.hidden ? "" : `${word("board.event", "referral_declined")} · ${partnerName(latestReferral.partner)}`;
  badge.title = badge.hidden ? "" : t("referral.reason", { reason: latestReferral.reason });
  $(".supervised-badge", card).hidden = !doc.supervised || doc.stage === "closed";
  const latest = reportsOf(doc)[0];
  const said = $(".said", card);
  said.textContent = latest?.text ? t("board.said", { text: firstLine(latest.text) }) : "";
  said.title = latest ? reportHeading(latest) : "";
  renderCountdown(card, doc, Date.now() + clockSkew);
  if (isOpen(card)) fillDetails(card, doc);
}

function fillDetails(card, doc) {
  setText(card, ".name", doc.subject?.name);
  setText(card, ".id-masked", doc.subject?.id_masked ?? describedText(doc.subject));
  setText(card, ".tier", t("board.at_tier", { tier: word("tier", doc.tier) }));
  const grid = doc.area?.grid ? ` · ${placeName(doc.area.grid)}` : "";
  const place = $(".place", card);
  place.textContent = `${placeName(doc.area?.town)} · ${placeName(doc.area?.village)}${grid}`;
  place.title = [doc.area?.town, doc.area?.village, doc.area?.grid].filter(Boolean).join(" · ");
  setText(card, ".urgency", t("board.urgency", { score: doc.urgency }));
  setText(card, ".case-id", doc.case_id);
  $(".household-link", card).href = householdUrl(doc.household_id);
  $(".factors", card).replaceChildren(
    ...(doc.factors ?? [])
      .filter((factor) => factor.applied !== false) // shown on the case page, not counted in the score
      .sort((a, b) => b.points - a.points)
      .map((factor) => {
        const item = document.createElement("li");
        item.textContent = factorText(factor);
        item.title = factor.detail ? `${factor.code} — ${factor.detail}` : factor.code;
        return item;
      }),
  );
  $(".reports", card).replaceChildren(...reportsOf(doc).map(reportItem));
  renderMatches(card, doc);
  renderReferrals(card, doc);
  renderActions(card, doc);
  renderNotes(card);
}

// 可能是同一人: other open cases nearby whose subject may be this one's, with what agrees; an officer confirms or dismisses.
function renderMatches(card, doc) {
  const matches = doc.possible_matches ?? [];
  $(".matches", card).hidden = matches.length === 0;
  $(".matches ul", card).replaceChildren(
    ...matches.map((match) => {
      const item = document.createElement("li");
      const reasons = (match.reasons ?? []).map((fact) => t(fact.code, fact.params ?? {}, humanise(fact.code)));
      item.append([t("board.match.case", { case_id: match.case_id }), match.name, ...reasons].filter(Boolean).join(" · "));
      if (match.status === "dismissed") {
        item.classList.add("dismissed");
        item.append(` — ${t("board.match.dismissed_by", { who: match.decided_by ?? "" })}`);
      } else if (canAct && !doc.merged_into) {
        for (const [choice, key] of [["confirm", "board.match.confirm"], ["dismiss", "board.match.dismiss"]]) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = t(key);
          if (choice === "confirm") button.title = t("board.match.confirm_title");
          button.addEventListener("click", () => send(card, `match_${choice}`, {}, { path: `matches/${encodeURIComponent(match.case_id)}/${choice}` }));
          item.append(" ", button);
        }
      }
      return item;
    }),
  );
}

// Someone known by no ID number yet, as the caller or the ward described them.
function describedText(subject) {
  if (!subject) return "";
  const seen = subject.sex != null && subject.approximate_age != null ? t("board.described", { sex: word("sex", subject.sex), age: subject.approximate_age }) : "";
  return [seen, subject.description].filter(Boolean).join(" · ");
}

function reportHeading(report) {
  const parts = [word("source", report.source), clockText(parseTime(report.reported_at))];
  if (report.reporter) parts.push(reporterText(report.source, report.reporter));
  return parts.join(" · ");
}

// A phone number as given: dialable when it is whole, as text when the reader only sees it masked.
function phoneElement(phone) {
  if (/^\+?\d{5,20}$/.test(phone)) {
    const link = document.createElement("a");
    link.href = `tel:${phone}`;
    link.textContent = phone;
    return link;
  }
  const text = document.createElement("span");
  text.textContent = phone;
  return text;
}

function reportItem(report) {
  const item = document.createElement("li");
  const head = document.createElement("div");
  head.className = "report-head";
  head.append(reportHeading(report));
  if (report.phone) head.append(" · ☎ ", phoneElement(report.phone));
  const text = document.createElement("div");
  text.className = "report-text";
  text.textContent = report.text || word("category", report.kind);
  item.append(head, text);
  return item;
}

function outcomeText(outcome) {
  const amount = outcome.amount_yuan != null ? ` ¥${outcome.amount_yuan}` : "";
  const referral = outcome.referral ? ` → ${outcome.referral}` : "";
  return `${word("board.aid", outcome.aid_type)}${amount}${referral}`;
}

function stageText(doc) {
  if (!doc.stage) return "";
  const assigned = doc.assignee ? t("board.assigned_to", { assignee: doc.assignee }) : null;
  const parts = [doc.stage === "assigned" && assigned ? assigned : word("stage", doc.stage)];
  if (assigned && doc.stage !== "assigned") parts.push(assigned);
  if (doc.outcome) parts.push(outcomeText(doc.outcome));
  return parts.join(" · ");
}

// ---- expanding a card: details, reports, actions, notes and timeline ---------------------------

const isOpen = (card) => card.classList.contains("open");

function toggle(card) {
  const open = !isOpen(card);
  card.classList.toggle("open", open);
  $(".summary", card).setAttribute("aria-expanded", String(open));
  $(".details", card).hidden = !open;
  if (open) {
    fillDetails(card, docs.get(card.dataset.caseId));
    loadTimeline(card);
    if (canAct && !card.programmesLoaded) loadProgrammes(card);
  }
}

const timelineLoads = new Map(); // case_id -> the load in flight, so a burst of updates fetches once more at most

async function loadTimeline(card) {
  const caseId = card.dataset.caseId;
  if (timelineLoads.has(caseId)) {
    timelineLoads.set(caseId, "again");
    return;
  }
  timelineLoads.set(caseId, "loading");
  try {
    const response = await api(`/v1/cases/${encodeURIComponent(caseId)}/timeline`);
    if (response.ok) renderTimeline(card, (await response.json()).timeline ?? []);
  } catch {
    // The timeline is extra detail; the card itself stays current from the live stream.
  } finally {
    const again = timelineLoads.get(caseId) === "again";
    timelineLoads.delete(caseId);
    if (again && isOpen(card)) loadTimeline(card);
  }
}

function eventDetail(event) {
  const data = event.data ?? {};
  if (event.type === "command_rejected") return reasonText(data);
  if (event.type === "status_changed") return `${word("colour", data.from)} → ${word("colour", data.to)}`;
  if (event.type === "escalated") return `${word("tier", data.from)} → ${word("tier", data.to)}`;
  if (event.type === "possible_match" || event.type === "match_dismissed") {
    return [t("board.match.case", { case_id: data.case_id }), data.name].filter(Boolean).join(" · ");
  }
  if (event.type === "handed_over") return [t("board.moved_to", { household_id: data.to }), data.identified ? t("board.identified") : ""].filter(Boolean).join(" · ");
  if (event.type === "taken_over") return t("board.moved_from", { household_id: data.from });
  if (event.type === "merged") return t("board.merged", { case_id: data.absorbed });
  if (event.type === "merged_into") return t("board.merged_into", { case_id: data.into });
  if (event.type.startsWith("referr") && data.partner) {
    const text = data.request ?? data.reason ?? data.report;
    return text ? t("referral.event", { partner: partnerName(data.partner), text }) : partnerName(data.partner);
  }
  if (data.outcome) return outcomeText(data.outcome);
  if (data.assignee) return t("board.assigned_to", { assignee: data.assignee });
  return data.text ?? "";
}

// 多事一核 for an officer: what the household may also apply for, read once when the card is first opened.
async function loadProgrammes(card) {
  card.programmesLoaded = true;
  try {
    const response = await api(`/v1/cases/${encodeURIComponent(card.dataset.caseId)}/programmes`);
    const advice = response.ok ? (await response.json()).programmes : [];
    const likely = advice.filter((one) => one.verdict === "likely").map((one) => word("programme.name", one.programme));
    $(".programmes summary", card).textContent = likely.length
      ? `${t("programme.title")} · ${t("programme.likely", { programmes: list(likely) })}`
      : t("programme.title");
    $(".programmes ul", card).replaceChildren(...advice.map(programmeItem));
    $(".programmes", card).hidden = advice.length === 0;
  } catch {
    card.programmesLoaded = false; // extra detail: tried again when the card is next opened
  }
}

function renderTimeline(card, timeline) {
  card.timeline = timeline;
  $(".timeline ol", card).replaceChildren(
    ...timeline.map((event) => {
      const item = document.createElement("li");
      item.dataset.type = event.type;
      const detail = eventDetail(event);
      item.textContent = `${clockText(parseTime(event.at))} ${word("board.event", event.type)} · ${actorText(event.actor, event.actor_name)}${detail ? ` — ${detail}` : ""}`;
      return item;
    }),
  );
  // A note the timeline now holds is confirmed; drop its optimistic copy.
  const recorded = new Set(timeline.filter((event) => event.type === "note_added").map((event) => event.data?.command_id));
  const caseId = card.dataset.caseId;
  pendingNotes.set(caseId, (pendingNotes.get(caseId) ?? []).filter((note) => !recorded.has(note.commandId)));
  renderNotes(card);
}

function renderNotes(card) {
  const fromTimeline = (card.timeline ?? [])
    .filter((event) => event.type === "note_added")
    .map((event) => ({ text: event.data?.text, who: actorText(event.actor, event.actor_name), at: parseTime(event.at) }));
  const pending = pendingNotes.get(card.dataset.caseId) ?? [];
  $(".notes", card).replaceChildren(
    ...fromTimeline.map((note) => noteItem(`${clockText(note.at)} ${note.who}`, note.text, "")),
    ...pending.map((note) => noteItem(t(note.failed ? "board.note.failed" : "board.note.sending"), note.text, note.failed ? "failed" : "sending")),
  );
}

function noteItem(head, text, state) {
  const item = document.createElement("li");
  item.className = `note ${state}`;
  const label = document.createElement("span");
  label.className = "note-head";
  label.textContent = head;
  item.append(label, ` ${text ?? ""}`);
  return item;
}

// ---- referrals (转办转介) -------------------------------------------------------------------------

// The case's referrals: the partner by name, the status, the decline's reason or the report; a pending or accepted one
// can be revoked with a reason.
function renderReferrals(card, doc) {
  const referrals = doc.referrals ?? [];
  const section = $(".referrals", card);
  section.hidden = referrals.length === 0;
  $("ul", section).replaceChildren(
    ...referrals.map((referral) => {
      const item = document.createElement("li");
      item.dataset.referralId = referral.referral_id;
      item.dataset.status = referral.status;
      const head = document.createElement("span");
      head.className = "referral-line";
      const status = document.createElement("span");
      status.className = "referral-status";
      status.textContent = word("referral.status", referral.status);
      head.append(`${partnerName(referral.partner)} · `, status);
      if (canAct && !doc.merged_into && doc.stage !== "closed" && ["pending", "accepted"].includes(referral.status)) {
        const revoke = document.createElement("button");
        revoke.type = "button";
        revoke.className = "revoke";
        revoke.textContent = t("referral.revoke");
        revoke.title = t("referral.revoke_title");
        revoke.addEventListener("click", () => openRevoke(card, referral.referral_id));
        head.append(revoke);
      }
      const lines = [
        t("referral.request", { request: referral.request }),
        referral.status === "declined" ? t("referral.reason", { reason: referral.reason }) : "",
        referral.status === "revoked" ? t("referral.revoked", { reason: referral.reason }) : "",
        referral.report ? t("referral.report", { report: referral.report }) : "",
      ].filter(Boolean);
      item.append(head, ...lines.map((text) => Object.assign(document.createElement("span"), { className: "referral-line", textContent: text })));
      return item;
    }),
  );
}

function openRevoke(card, referralId) {
  const form = document.createElement("form");
  form.dataset.action = "revoke_referral";
  form.setAttribute("aria-label", `${t("referral.revoke")} ${referralId}`);
  const label = document.createElement("label");
  const input = Object.assign(document.createElement("input"), { name: "reason", required: true, maxLength: 2000, autocomplete: "off" });
  label.append(t("referral.revoke_reason"), input);
  const submit = Object.assign(document.createElement("button"), { type: "submit", className: "primary", textContent: t("referral.revoke_submit") });
  const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: t("common.cancel") });
  cancel.addEventListener("click", () => $(".action-form", card).replaceChildren());
  form.append(label, submit, cancel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = input.value.trim();
    if (reason) send(card, "revoke_referral", { reason }, { path: `/v1/referrals/${encodeURIComponent(referralId)}/revoke`, form });
  });
  $(".action-form", card).replaceChildren(form);
  input.focus();
}

// ---- stage and officers' actions ---------------------------------------------------------------

let canAct = false;
const AID_TYPES = ["cash", "in_kind", "medical", "shelter", "care", "referral"];
const ACTION_FIELDS = {
  acknowledge: [], // one click: the acknowledgement clock is the one that runs out first
  assign: ["assignee", "note"],
  deliver: ["aid_type", "amount_yuan", "referral", "note"],
  close: ["aid_type", "amount_yuan", "referral", "note"],
  reopen: ["reason"],
  note: ["text"],
  identify: ["id_number", "name"],
  refer: ["partner", "request"],
};
// show/need get the chosen aid type and the action: cash needs an amount, a referral needs the department.
const FIELDS = {
  assignee: { need: () => true },
  note: {},
  reason: { need: () => true },
  text: { need: () => true },
  id_number: { need: () => true },
  name: {},
  aid_type: { need: () => true },
  partner: { need: () => true },
  request: { need: () => true },
  amount_yuan: { show: (aid) => aid === "cash", need: () => true },
  // A closing officer may name a department alongside other aid; for a referral it is the whole outcome.
  referral: { show: (aid, action) => action === "close" || aid === "referral", need: (aid) => aid === "referral" },
};

async function loadRole() {
  const answer = await whoAmI();
  if (!answer.role) return; // a refused token is reported by resync, which asks for another
  me = answer;
  canAct = me.role === "admin" || me.role.startsWith("officer:");
  if (canAct) await loadPartners();
  // The role decides each card's actions and the reopen buttons, the partners' names its referral lines: all again.
  renderTexts();
}

function renderRole() {
  if (!me.role) return;
  $("#change-token").textContent = actorText(me.role, me.name);
  $("#change-token").title = t("common.token.signed_in", { role: me.role });
}

// Only the actions the case's stage allows, as the case document lists them.
function renderActions(card, doc, force = false) {
  const box = $(".actions", card);
  const allowed = canAct ? (doc.allowed_actions ?? []).filter((action) => action in ACTION_FIELDS) : [];
  if (!force && box.dataset.allowed === allowed.join(",")) return; // keep an open form when nothing changed
  box.dataset.allowed = allowed.join(",");
  // An open form stays while its action is still allowed: a live update must not throw away what the officer typed.
  const open = $(".action-form form", card);
  if (open && !(allowed.includes(open.dataset.action) || (canAct && open.dataset.action === "revoke_referral"))) open.remove();
  box.replaceChildren(
    ...allowed.map((action) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action;
      button.textContent = t(`board.action.${action}`);
      button.title = t(`board.action_title.${action}`);
      button.addEventListener("click", () => (ACTION_FIELDS[action].length ? openForm(card, action) : send(card, action, {})));
      return button;
    }),
  );
}

function field(name, action) {
  const wrapper = document.createElement("label");
  wrapper.append(t(name === "aid_type" && action === "close" ? "board.field.outcome" : `board.field.${name}`));
  let input;
  if (name === "partner") {
    input = document.createElement("select");
    input.append(new Option(t("common.choose"), ""), ...partners.map((partner) => new Option(partnerName(partner.name), partner.name)));
  } else if (name === "aid_type") {
    input = document.createElement("select");
    // No default: a stray Enter must not record cash aid nobody chose.
    input.append(new Option(t("common.choose"), ""), ...AID_TYPES.map((type) => new Option(word("board.aid", type), type)));
  } else {
    input = document.createElement("input");
    input.autocomplete = "off";
    if (name === "amount_yuan") Object.assign(input, { type: "number", min: "0.01", step: "0.01", inputMode: "decimal" });
    if (["note", "reason", "text", "request"].includes(name)) input.maxLength = 2000;
    if (["assignee", "referral"].includes(name)) input.maxLength = 100;
    if (name === "id_number") Object.assign(input, { maxLength: 22, spellcheck: false, className: "mono" });
    if (name === "name") input.maxLength = 50;
  }
  input.name = name;
  wrapper.append(input);
  return wrapper;
}

function openForm(card, action) {
  const form = document.createElement("form");
  form.dataset.action = action;
  form.setAttribute("aria-label", `${t(`board.action.${action}`)} ${card.dataset.caseId}`);
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
  submit.textContent = t(`board.submit.${action}`);
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = t("common.cancel");
  cancel.addEventListener("click", () => closeForm(card, action));
  form.append(submit, cancel);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeForm(card, action);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(card, action, bodyFor(action, new FormData(form)), { form });
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
    case "identify": return { id_number: value("id_number")?.replace(/\s/g, "").toUpperCase(), name: value("name") };
    case "refer": return { partner: value("partner"), request: value("request") };
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
function markInvalid(form, answer) {
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

// A note shows on the card as soon as it is accepted, marked as sending until the timeline holds it.
function noteSent(card, form, commandId, text) {
  const caseId = card.dataset.caseId;
  pendingNotes.set(caseId, [...(pendingNotes.get(caseId) ?? []), { commandId, text, failed: false }]);
  form?.remove();
  renderNotes(card);
}

function noteFailed(card, commandId) {
  for (const note of pendingNotes.get(card.dataset.caseId) ?? []) if (note.commandId === commandId) note.failed = true;
  renderNotes(card);
}

// An officer's command on the case; path is the route under the case when it is not the action's own name (or, from /,
// a route of its own, such as a referral's); form is the one it was sent from, which goes once the command is done.
async function send(card, action, body, { path = action === "note" ? "notes" : action, form = null } = {}) {
  const caseId = card.dataset.caseId;
  const name = t(`board.action.${action}`);
  const controls = card.querySelectorAll(".actions button, .action-form button, .matches button");
  controls.forEach((button) => { button.disabled = true; });
  card.setAttribute("aria-busy", "true");
  showRefusal(card, null);
  showPending(card, t("board.sending", { action: name }));
  let waiting = null;
  try {
    const response = await api(path.startsWith("/") ? path : `/v1/cases/${encodeURIComponent(caseId)}/${path}`, { json: body });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401) {
      showRefusal(card, explain(answer));
      askForToken(t("common.token.rejected"));
      return;
    }
    if (response.status !== 202) {
      // 403 wrong tier or area, 404 unknown case, 409 not in this stage, 422 bad fields
      showRefusal(card, `${t("board.refused", { action: name })}: ${explain(answer)}`);
      markInvalid(form, answer);
      return;
    }
    if (action === "note") noteSent(card, form, answer.command_id, body.text);
    showPending(card, t("board.waiting", { action: name }));
    // Accepted against the read model; the case agent decides, and may still refuse.
    const result = await outcomeOf(answer.command_id);
    if (result.state === "rejected") {
      showRefusal(card, reasonText(result) || t("board.refused", { action: name }));
      if (action === "note") noteFailed(card, answer.command_id);
    } else if (result.state === "pending") {
      waiting = `${name}: ${result.reason}`;
    } else {
      // Only the form this came from: the officer may have opened the next one while the worker decided.
      form?.remove();
      await refresh(caseId);
    }
  } catch {
    showRefusal(card, t("common.error.offline"));
  } finally {
    showPending(card, waiting);
    card.removeAttribute("aria-busy");
    controls.forEach((button) => { button.disabled = false; });
  }
}

// ---- filters -----------------------------------------------------------------------------------

const FILTERS = { tier: "#filter-tier", town: "#filter-town", priority: "#filter-priority", colour: "#filter-colour" };
const FILTER_CHOICES = {
  tier: () => ["village", "town", "city", "leadership"].map((tier) => [tier, word("tier", tier)]),
  priority: () => ["P1", "P2", "P3"].map((priority) => [priority, word("priority", priority)]),
  colour: () => COLOURS.map((colour) => [colour, word("colour", colour)]),
  // The county's towns by name; without the register, the towns on the board now.
  town: () => {
    const codes = register?.towns?.map((town) => town.code) ?? [...new Set([...docs.values()].map((doc) => doc.area?.town).filter(Boolean))].sort();
    return codes.map((code) => [code, placeName(code)]);
  },
};

function renderFilterChoices(key) {
  const select = $(FILTERS[key]);
  const chosen = select.value || new URL(location.href).searchParams.get(key) || "";
  const choices = FILTER_CHOICES[key]();
  if (chosen && !choices.some(([value]) => value === chosen)) choices.push([chosen, placeName(chosen)]);
  const signature = `${language}|${choices.map(([value]) => value).join(",")}`;
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  select.replaceChildren(new Option(t("board.filter.all"), ""), ...choices.map(([value, text]) => new Option(text, value)));
  select.value = chosen;
}

function filterValues() {
  return Object.fromEntries(Object.entries(FILTERS).map(([key, selector]) => [key, $(selector).value]));
}

function matchesFilters(doc, f = filterValues()) {
  return (!f.tier || doc.tier === f.tier) && (!f.town || doc.area?.town === f.town)
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

for (const selector of Object.values(FILTERS)) $(selector).addEventListener("input", applyFilters);
$("#filter-clear").addEventListener("click", () => {
  for (const selector of Object.values(FILTERS)) $(selector).value = "";
  applyFilters();
});

// ---- columns: cards kept in order, moved only when their case changes --------------------------

// A red lead is as late as a red emergency case: it sits among the reds (with its 线索 badge) and counts there.
const columnOf = (doc) => (doc.status === "red" || doc.track !== "standard" ? doc.status : "leads");
const dueKey = (doc) => {
  const due = parseTime(doc.due_at);
  return Number.isNaN(due) ? Infinity : due;
};

// P1 first, then the least time left, then the case id so equal cases keep a stable order.
function compare(a, b) {
  return (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9) || dueKey(a) - dueKey(b) || (a.case_id < b.case_id ? -1 : a.case_id > b.case_id ? 1 : 0);
}

function insertionIndex(list, doc) {
  let [low, high] = [0, list.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (compare(docs.get(list[middle]), doc) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

const container = (column) => $(`[data-column="${column}"] .cards`);

function unlist(caseId) {
  const column = columnOfCase.get(caseId);
  if (!column) return;
  lists[column].splice(lists[column].indexOf(caseId), 1);
  columnOfCase.delete(caseId);
}

// Moving a card blurs whatever had focus in it, such as an officer typing in an action form.
function keepingFocus(move) {
  const focused = document.activeElement;
  move();
  if (focused && document.activeElement !== focused) focused.focus();
}

function position(card, doc, batch) {
  unlist(doc.case_id);
  const column = columnOf(doc);
  const list = lists[column];
  const index = insertionIndex(list, doc);
  list.splice(index, 0, doc.case_id);
  columnOfCase.set(doc.case_id, column);
  if (batch) return; // the snapshot lays each column out once at the end
  const next = cards.get(list[index + 1]) ?? null;
  const box = container(column);
  if (card.parentElement !== box || card.nextElementSibling !== next) keepingFocus(() => box.insertBefore(card, next));
}

function layOut() {
  for (const column of COLUMNS) {
    const box = container(column);
    const wanted = lists[column].map((caseId) => cards.get(caseId));
    const same = box.children.length === wanted.length && wanted.every((card, i) => box.children[i] === card);
    if (!same) keepingFocus(() => box.replaceChildren(...wanted));
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
  unlist(caseId);
  pendingNotes.delete(caseId);
}

function newCard() {
  const card = $("#card-template").content.firstElementChild.cloneNode(true);
  translatePage(card);
  card.addEventListener("animationend", () => card.classList.remove("flash"));
  $(".summary", card).addEventListener("click", () => toggle(card));
  return card;
}

function upsert(doc, batch = false) {
  const held = docs.get(doc.case_id);
  if ((versions.get(doc.case_id) ?? -1) >= doc.version) return;
  versions.set(doc.case_id, doc.version);
  if (doc.status === "closed" || !COLOURS.includes(doc.status)) {
    // An officer reading the card (just identified the person, say) is taken to the case that absorbed it.
    const followed = location.hash === `#${doc.case_id}` || (cards.has(doc.case_id) && isOpen(cards.get(doc.case_id)));
    remove(doc.case_id);
    if (doc.merged_into && followed) pointAt(doc.merged_into);
    return;
  }
  let card = cards.get(doc.case_id);
  if (!card) {
    card = newCard();
    cards.set(doc.case_id, card);
  }
  docs.set(doc.case_id, doc);
  fill(card, doc);
  card.hidden = !matchesFilters(doc);
  position(card, doc, batch);
  if (held && isOpen(card)) loadTimeline(card);
  if (doc.status === "red" && (held ? held.status !== "red" : loaded)) flash(card);
  if (location.hash === `#${doc.case_id}` && !card.classList.contains("target")) showTarget(card);
}

// A case merged into another is followed to the one that survives it.
function pointAt(caseId) {
  history.replaceState(history.state, "", `#${caseId}`);
  const card = cards.get(caseId);
  if (card) showTarget(card);
}

async function followMerged() {
  let caseId = decodeURIComponent(location.hash.slice(1));
  for (let hops = 0; caseId && !docs.has(caseId) && hops < 5; hops++) {
    const response = await api(`/v1/cases/${encodeURIComponent(caseId)}`).catch(() => null);
    const doc = response?.ok ? await response.json() : null;
    if (!doc?.merged_into) return;
    caseId = doc.merged_into;
    pointAt(caseId);
  }
}

// The intake page links to /#<case id>: point that card out, opened, once it arrives.
function showTarget(card) {
  for (const other of cards.values()) other.classList.remove("target");
  card.classList.add("target");
  if (!isOpen(card)) toggle(card);
  requestAnimationFrame(() => card.scrollIntoView({ block: "center" }));
}

function renderCounts() {
  let shown = 0;
  for (const column of COLUMNS) {
    const visible = lists[column].filter((caseId) => !cards.get(caseId).hidden).length;
    shown += visible;
    $(`[data-count="${column}"]`).textContent = visible;
  }
  const filtered = Object.values(filterValues()).some(Boolean);
  $("#total").textContent = filtered ? t("board.total_shown", { total: cards.size, shown }) : t("board.total", { total: cards.size });
  $("#total").dataset.total = cards.size;
  $("#filter-clear").hidden = !filtered;
  $("#truncated").hidden = !truncation;
  if (truncation) $("#truncated").textContent = t("board.truncated", truncation);
  if (!register) renderFilterChoices("town");
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
    askForToken(t(response.status === 401 ? "common.token.rejected" : "board.token.forbidden"));
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
  for (const doc of items) upsert(doc, true);
  layOut();
  if (!loaded) followMerged();
  loaded = true;
  truncation = total > items.length ? { shown: items.length, total } : null;
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

// ---- finding anyone, and closed cases -----------------------------------------------------------

const householdUrl = (householdId) => `/household?id=${encodeURIComponent(householdId ?? "")}`;
let searchAnswer = null; // the latest answer shown, so a language switch can render it again
let closedItems = [];
let closedTotal = 0;
const CLOSED_PAGE = 50;

function link(text, href) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text ?? "";
  return element;
}

// A case as one chip: priority, what it is about, its light or "closed"; an open one links to its card.
function caseChip(summary) {
  const text = `${summary.priority ?? ""} ${word("category", summary.category)} · ${word("colour", summary.status)}`;
  const chip = COLOURS.includes(summary.status) ? link(text, `#${summary.case_id}`) : span("", text);
  chip.classList.add("case-chip");
  chip.dataset.status = summary.status;
  chip.title = summary.case_id;
  return chip;
}

// A member as a result names them: the masked ID number, or for someone known by none yet, as described.
function memberText(member) {
  if (member.id_masked) return `${member.name} ${member.id_masked}`;
  return [member.name, describedText({ sex: member.sex, approximate_age: member.age }), t("board.unverified")].filter(Boolean).join(" ");
}

function searchItem(hit) {
  const item = document.createElement("li");
  item.dataset.householdId = hit.household_id;
  const matched = new Set(hit.matched_members ?? []);
  const members = (hit.members ?? []).map((member) => span(matched.has(member.name) ? "matched" : "", memberText(member)));
  const village = hit.area ? `${placeName(hit.area.town)} · ${placeName(hit.area.village)}` : "";
  item.append(
    span("match", word("board.search.match", hit.match)),
    link(t("board.household_link"), householdUrl(hit.household_id)),
    ...members,
    span("muted", village),
    span("muted", t("board.search.cases", { count: hit.cases_total })),
    ...(hit.cases ?? []).map(caseChip),
  );
  return item;
}

function renderSearch() {
  const panel = $("#search-results");
  if (!searchAnswer) {
    panel.hidden = true;
    return;
  }
  const items = searchAnswer.items ?? [];
  $("#search-summary").textContent = searchAnswer.error ?? (items.length ? t("board.search.results", { count: items.length }) : searchAnswer.notice ?? t("board.search.none"));
  $("#search-results ol").replaceChildren(...items.map(searchItem));
  panel.hidden = false;
}

async function runSearch(query) {
  if (!query) return;
  try {
    const response = await api(`/v1/search?q=${encodeURIComponent(query)}`);
    const answer = await response.json().catch(() => ({}));
    searchAnswer = response.ok ? answer : { items: [], error: explain(answer) };
  } catch {
    searchAnswer = { items: [], error: t("common.error.offline") };
  }
  renderSearch();
}

$("#search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  runSearch($("#search-input").value.trim());
});
$("#search-close").addEventListener("click", () => {
  searchAnswer = null;
  renderSearch();
});

function closedItem(doc) {
  const item = document.createElement("li");
  item.dataset.caseId = doc.case_id;
  item.append(
    span("priority", doc.priority),
    span("category", word("category", doc.category)),
    span("village", placeName(doc.area?.village)),
    span("", `${doc.subject?.name ?? ""} ${doc.subject?.id_masked ?? ""}`),
    span("muted", t("board.closed.closed_at", { clock: clockText(parseTime(doc.closed_at)) })),
    span("muted", doc.outcome ? outcomeText(doc.outcome) : ""),
    link(t("board.household_link"), householdUrl(doc.household_id)),
  );
  if (canAct) {
    const reopen = document.createElement("button");
    reopen.type = "button";
    reopen.textContent = t("board.action.reopen");
    reopen.title = t("board.action_title.reopen");
    reopen.addEventListener("click", () => reopenForm(item, doc));
    item.append(reopen);
  }
  item.append(span("refusal", ""));
  return item;
}

function reopenForm(item, doc) {
  if ($("form", item)) return;
  const form = document.createElement("form");
  form.setAttribute("aria-label", `${t("board.action.reopen")} ${doc.case_id}`);
  const reason = document.createElement("input");
  reason.name = "reason";
  reason.required = true;
  reason.maxLength = 2000;
  reason.placeholder = t("board.field.reason");
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.textContent = t("board.submit.reopen");
  form.append(reason, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const said = $(".refusal", item);
    try {
      const response = await api(`/v1/cases/${encodeURIComponent(doc.case_id)}/reopen`, { json: { reason: reason.value.trim() } });
      const answer = await response.json().catch(() => ({}));
      if (response.status !== 202) {
        said.textContent = `${t("board.refused", { action: t("board.action.reopen") })}: ${explain(answer)}`;
        return;
      }
      said.textContent = t("board.waiting", { action: t("board.action.reopen") });
      const result = await outcomeOf(answer.command_id);
      said.textContent = result.state === "processed" ? "" : reasonText(result);
      if (result.state === "processed") loadClosed();
    } catch {
      said.textContent = t("common.error.offline");
    } finally {
      submit.disabled = false;
    }
  });
  item.append(form);
  reason.focus();
}

function renderClosed() {
  $("#closed-list").replaceChildren(...closedItems.map(closedItem));
  $("#closed-summary").textContent = closedItems.length ? t("board.closed.shown", { total: closedTotal, shown: closedItems.length }) : t("board.closed.none");
  $("#closed-more").hidden = closedItems.length >= closedTotal;
}

// Closed cases of the caller's area, newest first, a page at a time.
async function loadClosed(more = false) {
  const offset = more ? closedItems.length : 0;
  try {
    const response = await api(`/v1/cases?state=closed&limit=${CLOSED_PAGE}&offset=${offset}`);
    if (!response.ok) return;
    const { items = [], total = 0 } = await response.json();
    closedItems = more ? [...closedItems, ...items] : items;
    closedTotal = total;
  } catch {
    return;
  }
  renderClosed();
}

function showTab(tab) {
  const closed = tab === "closed";
  $("#tab-open").setAttribute("aria-selected", String(!closed));
  $("#tab-closed").setAttribute("aria-selected", String(closed));
  $("#board").hidden = closed;
  $("#closed").hidden = !closed;
  if (closed) loadClosed();
}

$("#tab-open").addEventListener("click", () => showTab("open"));
// A link to a card on the board itself (an open case in the search results): show the open cases, point it out.
window.addEventListener("hashchange", () => {
  const card = cards.get(decodeURIComponent(location.hash.slice(1)));
  if (!card) return followMerged();
  showTab("open");
  showTarget(card);
});
$("#tab-closed").addEventListener("click", () => showTab("closed"));
$("#closed-more").addEventListener("click", () => loadClosed(true));

// Every text on the page again: in the language just chosen, or with the role and the partners just learned.
function renderTexts() {
  for (const key of Object.keys(FILTERS)) renderFilterChoices(key);
  setLiveState(liveState);
  renderRole();
  for (const [caseId, card] of cards) {
    translatePage(card);
    fill(card, docs.get(caseId));
    if (isOpen(card)) {
      renderActions(card, docs.get(caseId), true);
      if (card.timeline) renderTimeline(card, card.timeline);
    }
  }
  renderCounts();
  renderSearch();
  if (!$("#closed").hidden) renderClosed();
}

function start() {
  token = takeToken();
  if (!token) return askForToken(t("common.token.enter_board"));
  loadRole();
  connect();
  resync(); // show the snapshot at once, even if the live stream is slow to open
}

async function boot() {
  await Promise.all([loadLanguage(language), loadRegister()]);
  document.body.classList.remove("loading");
  for (const key of Object.keys(FILTERS)) renderFilterChoices(key);
  setLiveState(liveState);
  renderCounts();
  wireLanguageSwitch(renderTexts);
  wireTokenForm((entered) => {
    token = entered;
    loadRole();
    connect();
    resync();
  });
  $("#change-token").addEventListener("click", () => askForToken(t("common.token.another")));
  setInterval(() => {
    const now = Date.now() + clockSkew;
    for (const [caseId, card] of cards) renderCountdown(card, docs.get(caseId), now);
  }, 1000);
  start();
}

boot();
