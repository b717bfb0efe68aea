"use strict";
// A partner's page (转办转介): what was referred to the organisation, with the accept and delivery countdowns, and its
// answers: accept, decline with the reason, report the help given. Reached at /partner with a partner's token.

const POLL_MS = 5000; // a partner has no live feed: the list is read again this often
let answer = null; // the last GET /v1/referrals, rendered again on a language switch and each second for the countdowns
let tab = "active";
let pollTimer = null;
const busy = new Set(); // referral ids with an answer in flight, whose forms a refresh must not wipe

const dueOf = (referral) => (referral.status === "pending" ? referral.deadlines?.accept : referral.status === "accepted" ? referral.deadlines?.deliver : null);
const dateTime = (iso) => (iso ? new Date(parseTime(iso) + CHINA_OFFSET_MS).toISOString().slice(0, 16).replace("T", " ") : "");

function problem(text) {
  $("#problem").textContent = text ?? "";
  $("#problem").hidden = !text;
}

function countdown(referral, now = Date.now()) {
  const deadline = dueOf(referral);
  if (!deadline || deadline.met_at) return { text: "", overdue: false };
  const due = parseTime(deadline.due_at);
  const overdue = due < now;
  return { text: t(overdue ? "board.countdown.overdue" : "board.countdown.left", { span: spanText(due - now) }), overdue };
}

function deadlineText(deadline) {
  if (!deadline) return "";
  const met = deadline.met_at ? ` · ${t("partner.met", { clock: dateTime(deadline.met_at) })}` : "";
  return `${dateTime(deadline.due_at)}${met}`;
}

function answerText(referral) {
  if (referral.status === "declined") return t("referral.reason", { reason: referral.reason });
  if (referral.status === "revoked") return t("referral.revoked", { reason: referral.reason });
  if (referral.report) return t("referral.report", { report: referral.report });
  return "";
}

function fillReferral(article, referral) {
  article.dataset.referralId = referral.referral_id;
  article.dataset.status = referral.status;
  $(".priority", article).textContent = referral.priority;
  $(".priority", article).title = word("priority", referral.priority);
  $(".category", article).textContent = word("category", referral.category);
  $(".status", article).textContent = word("referral.status", referral.status);
  $(".need", article).textContent = `${word("category", referral.category)} · ${t("referral.request", { request: referral.request })}`;
  const place = referral.place ?? {};
  $(".place", article).textContent = [place.town_name ?? placeName(place.town), place.village_name ?? placeName(place.village)].filter(Boolean).join(" · ");
  $(".person", article).textContent = [referral.person?.name, referral.person?.id_masked].filter(Boolean).join(" · ");
  $(".referred", article).textContent = [dateTime(referral.referred_at), referral.referred_by].filter(Boolean).join(" · ");
  $(".accept-due", article).textContent = deadlineText(referral.deadlines?.accept);
  $(".deliver-due", article).textContent = deadlineText(referral.deadlines?.deliver);
  $(".case-status", article).textContent = referral.case_status === "closed" ? t("partner.case_closed") : word("colour", referral.case_status);
  $(".answer", article).textContent = answerText(referral);
  renderCountdown(article, referral);
  // Drawn again only when the answer possible changes, so a form being filled in survives the next poll.
  const actionsFor = `${referral.status} ${referral.case_status === "closed"} ${language}`;
  if (!busy.has(referral.referral_id) && article.dataset.actionsFor !== actionsFor) {
    renderActions(article, referral);
    article.dataset.actionsFor = actionsFor;
  }
}

function renderCountdown(article, referral) {
  const { text, overdue } = countdown(referral);
  const el = $(".countdown", article);
  el.textContent = text;
  el.classList.toggle("overdue", overdue);
}

// A closed case takes no more answers: the worker would refuse them.
function renderActions(article, referral) {
  const open = referral.case_status !== "closed";
  const actions = [];
  if (open && referral.status === "pending") actions.push("accept", "decline");
  if (open && referral.status === "accepted") actions.push("report");
  $(".form", article).replaceChildren();
  $(".actions", article).replaceChildren(
    ...actions.map((action) => {
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: t(`partner.${action}`) });
      button.dataset.action = action;
      if (action === "accept") button.className = "primary";
      button.addEventListener("click", () => (action === "accept" ? send(article, action, undefined) : openForm(article, action)));
      return button;
    }),
  );
}

// Decline needs the reason, a report the help given.
function openForm(article, action) {
  const [field, key] = action === "decline" ? ["reason", "partner.decline_reason"] : ["report", "partner.report_text"];
  const form = document.createElement("form");
  form.dataset.action = action;
  const label = document.createElement("label");
  const input = Object.assign(document.createElement("textarea"), { name: field, required: true, maxLength: 2000, rows: 2 });
  label.append(t(key), input);
  const submit = Object.assign(document.createElement("button"), { type: "submit", className: "primary", textContent: t(`partner.submit.${action}`) });
  const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: t("common.cancel") });
  cancel.addEventListener("click", () => $(".form", article).replaceChildren());
  form.append(label, submit, cancel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text) send(article, action, { [field]: text });
  });
  $(".form", article).replaceChildren(form);
  input.focus();
}

function say(article, selector, text) {
  const el = $(selector, article);
  el.textContent = text ?? "";
  el.hidden = !text;
}

async function send(article, action, body) {
  const referralId = article.dataset.referralId;
  const name = t(`partner.${action}`);
  busy.add(referralId);
  article.querySelectorAll("button").forEach((button) => { button.disabled = true; });
  say(article, ".refusal", "");
  say(article, ".pending", t("partner.sending", { action: name }));
  try {
    const response = await api(`/v1/referrals/${encodeURIComponent(referralId)}/${action}`, { json: body ?? {} });
    const reply = await response.json().catch(() => ({}));
    if (response.status === 401) return showTokenForm(t("common.token.rejected"));
    if (response.status !== 202) return say(article, ".refusal", `${t("partner.refused", { action: name })}: ${explain(reply)}`);
    say(article, ".pending", t("partner.waiting", { action: name }));
    const result = await outcomeOf(reply.command_id);
    if (result.state === "rejected") say(article, ".refusal", reasonText(result) || t("partner.refused", { action: name }));
    else if (result.state === "pending") say(article, ".refusal", `${name}: ${result.reason}`);
    else say(article, ".pending", t("partner.done", { action: name }));
  } catch {
    say(article, ".refusal", t("common.error.offline"));
  } finally {
    busy.delete(referralId);
    article.querySelectorAll("button").forEach((button) => { button.disabled = false; });
    if (!$(".refusal", article).textContent) setTimeout(() => say(article, ".pending", ""), 1500);
    await load();
  }
}

function render() {
  if (!answer) return;
  const partner = answer.partner;
  $("#heading").textContent = partner ? (language === "en" ? partner.name_en : partner.name_zh) : "";
  const shown = (answer.items ?? []).filter((r) => tab === "all" || ["pending", "accepted"].includes(r.status));
  $("#total").textContent = t("partner.total", { total: shown.length });
  $("#none").hidden = shown.length > 0;
  const list = $("#list");
  const existing = new Map([...list.children].map((article) => [article.dataset.referralId, article]));
  list.replaceChildren(
    ...shown.map((referral) => {
      const article = existing.get(referral.referral_id) ?? $("#referral-template").content.firstElementChild.cloneNode(true);
      if (!existing.has(referral.referral_id)) translatePage(article);
      fillReferral(article, referral);
      return article;
    }),
  );
  for (const button of document.querySelectorAll("[data-tab]")) button.setAttribute("aria-pressed", String(button.dataset.tab === tab));
  $("#referrals").hidden = false;
}

async function load() {
  clearTimeout(pollTimer);
  let response;
  try {
    response = await api("/v1/referrals");
  } catch {
    problem(t("common.error.offline"));
    pollTimer = setTimeout(load, POLL_MS);
    return;
  }
  const reply = await response.json().catch(() => ({}));
  if (response.status === 401) return showTokenForm(t("common.token.rejected"));
  if (response.status === 403) return showTokenForm(t("partner.forbidden"));
  if (!response.ok) problem(explain(reply));
  else {
    problem("");
    answer = reply;
    render();
  }
  pollTimer = setTimeout(load, POLL_MS);
}

function tickCountdowns() {
  for (const article of document.querySelectorAll("#list .referral")) {
    const referral = answer?.items?.find((r) => r.referral_id === article.dataset.referralId);
    if (referral) renderCountdown(article, referral);
  }
}

async function boot() {
  await Promise.all([loadLanguage(language), loadRegister()]);
  document.body.classList.remove("loading");
  wireLanguageSwitch(() => {
    for (const article of document.querySelectorAll("#list .referral")) translatePage(article);
    render();
  });
  wireTokenForm(load);
  $("#change-token").addEventListener("click", () => showTokenForm(t("common.token.another")));
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => {
      tab = button.dataset.tab;
      render();
    });
  }
  setInterval(tickCountdowns, 1000);
  if (!takeToken()) return showTokenForm(t("partner.enter"));
  load();
}

boot();
