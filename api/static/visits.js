"use strict";
// Follow-ups and watch visits due in the reader's area (回访 and 好差评回访; 探访), red first, with countdowns, and the forms
// a village assistant records a visit with and the hotline records a call-back's rating with.

const LISTS = { follow_ups: "/v1/follow-ups", watch: "/v1/watchlist" };
const COLOUR_ORDER = { red: 0, yellow: 1, green: 2 };
const REFRESH_MS = 3000;
let tab = "follow_ups";
let shown = null; // the answer of the list shown, rendered again on a language switch and each second
let recording = null; // the item whose form is open
let me = { role: null, name: null }; // who reads: operators record call-backs only, officers visits too

const dueMs = (item) => parseTime(item.visit.deadline.due_at);
const inOrder = (items) => [...items].sort((a, b) => COLOUR_ORDER[a.visit.status] - COLOUR_ORDER[b.visit.status] || dueMs(a) - dueMs(b));

function span(text, className) {
  const element = document.createElement("span");
  element.textContent = text ?? "";
  if (className) element.className = className;
  return element;
}

function countdown(item, now = Date.now()) {
  const left = dueMs(item) - now;
  return left >= 0 ? t("followups.due_in", { span: spanText(left) }) : t("followups.overdue", { span: spanText(left) });
}

function row(item) {
  const { visit } = item;
  const li = document.createElement("li");
  li.className = `visit ${visit.status}`;
  li.dataset.visitId = visit.visit_id;
  const person = item.person.name || t("followups.no_name");
  const place = [item.village?.name, item.town?.name].filter(Boolean).join(" · ");
  const about = document.createElement("div");
  about.className = "about";
  about.append(
    span(word("colour", visit.status), "light"),
    span(t(`followups.kind.${visit.kind}`), "kind"),
    span(person, "person"),
    span(item.person.id_masked ?? "", "mono"),
    span(place, "place"),
  );
  const more = document.createElement("div");
  more.className = "more";
  more.append(
    span(countdown(item), "countdown"),
    span(t("followups.due_at", { clock: clockText(dueMs(item)) }), "muted"),
    span(t("board.at_tier", { tier: visit.tier }), "tier"),
  );
  if (item.watch) more.append(span(t("followups.watched_for", { categories: item.watch.categories }), "why"));
  if (visit.case_id) more.append(span(t("followups.case", { case_id: visit.case_id }), "muted"));
  li.append(about, more);
  if (visit.kind === "callback" || !String(me.role).startsWith("operator")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "record";
    button.textContent = t(visit.kind === "callback" ? "followups.action.callback" : "followups.action.visit");
    button.addEventListener("click", () => openForm(item));
    li.append(button);
  }
  return li;
}

function render() {
  if (!shown) return;
  const items = inOrder(shown.items);
  $("#visits").replaceChildren(...items.map(row));
  $("#none").textContent = t(`followups.none.${tab}`);
  $("#none").hidden = items.length > 0;
  $("#total").textContent = t("followups.total", { shown: items.length, households: shown.households });
}

function tick() {
  if (!shown) return;
  const now = Date.now();
  for (const item of shown.items) {
    const element = document.querySelector(`li[data-visit-id="${CSS.escape(item.visit.visit_id)}"] .countdown`);
    if (element) element.textContent = countdown(item, now);
  }
}

function problem(text) {
  $("#problem").textContent = text;
  $("#problem").hidden = !text;
}

async function load() {
  let response;
  try {
    response = await api(LISTS[tab]);
  } catch {
    return problem(t("common.error.offline"));
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) return showTokenForm(t("common.token.rejected"));
  if (!response.ok) {
    shown = null;
    $("#visits").replaceChildren();
    return problem(explain(answer)); // 403: the watch board is the officers'
  }
  problem("");
  shown = answer;
  render();
}

function selectTab(wanted) {
  tab = wanted;
  for (const name of Object.keys(LISTS)) $(`#tab-${name}`).setAttribute("aria-selected", String(name === wanted));
  closeForm();
  shown = null;
  load();
}

function openForm(item) {
  recording = item;
  const callback = item.visit.kind === "callback";
  $("#record-title").textContent = t(callback ? "followups.action.callback" : "followups.action.visit");
  $("#record-about").textContent = [t(`followups.kind.${item.visit.kind}`), item.person.name, item.village?.name, item.visit.visit_id]
    .filter(Boolean)
    .join(" · ");
  $("#visit-fields").hidden = callback;
  $("#callback-fields").hidden = !callback;
  $("#record").reset();
  $("#record-result").textContent = "";
  $("#record").hidden = false;
  (callback ? $("input[name=rating]") : $("#found")).focus();
}

function closeForm() {
  recording = null;
  $("#record").hidden = true;
}

// Where the record goes: a follow-up on its case, a watch visit on its household, a call-back's rating on its case.
function request(item) {
  const { visit } = item;
  if (visit.kind === "callback") {
    const rating = $("input[name=rating]:checked")?.value;
    const words = $("#words").value.trim();
    return [`/v1/cases/${encodeURIComponent(visit.case_id)}/satisfaction`, { rating, ...(words ? { text: words } : {}) }];
  }
  const body = { visit_id: visit.visit_id, found: $("#found").value.trim(), more_help: $("#more-help").checked };
  const path = visit.kind === "watch" ? `/v1/households/${encodeURIComponent(item.household_id)}/visits` : `/v1/cases/${encodeURIComponent(visit.case_id)}/visits`;
  return [path, body];
}

async function submit(event) {
  event.preventDefault();
  if (!recording) return;
  const [path, body] = request(recording);
  const result = $("#record-result");
  result.textContent = t("followups.sending");
  let response;
  try {
    response = await api(path, { json: body });
  } catch {
    result.textContent = t("common.error.offline");
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    result.textContent = t("followups.rejected", { reason: explain(answer) });
    return;
  }
  const outcome = await outcomeOf(answer.command_id);
  if (outcome.state === "processed") {
    closeForm();
    await load();
    problem("");
    $("#total").textContent += ` · ${t("followups.recorded")}`;
  } else {
    result.textContent = t("followups.rejected", { reason: reasonText(outcome) });
  }
}

async function showWho() {
  me = await whoAmI();
  $("#who").textContent = me.role ? actorText(me.role, me.name) : "";
  render();
}

async function boot() {
  await Promise.all([loadLanguage(language), loadRegister()]);
  document.body.classList.remove("loading");
  wireLanguageSwitch(() => {
    render();
    showWho();
  });
  wireTokenForm(() => {
    showWho();
    load();
  });
  $("#change-token").addEventListener("click", () => showTokenForm(t("common.token.another")));
  for (const name of Object.keys(LISTS)) $(`#tab-${name}`).addEventListener("click", () => selectTab(name));
  $("#record").addEventListener("submit", submit);
  $("#record-cancel").addEventListener("click", closeForm);
  if (!takeToken()) return showTokenForm(t("common.token.another"));
  if (new URL(location.href).searchParams.get("tab") === "watch") tab = "watch";
  await showWho(); // before the list, so each row shows only the buttons the reader may use
  selectTab(tab);
  setInterval(tick, 1000);
  setInterval(() => recording || load(), REFRESH_MS);
}

boot();
