"use strict";
// A household's page (seed 004's "talking verification report"): members, sensitive factors, enrolment and
// programmes, every signal and case over time. Reached from a case card and from search: /household?id=<household id>.

const SOURCES = ["hotline", "hospital", "department"];
const SIGNAL_TYPES = new Set(["opened", "signal_attached", "signal_recorded"]);
const SVG = "http://www.w3.org/2000/svg";
const HEADING_NAMES = 3; // members named in the heading, the rest counted
const householdId = new URL(location.href).searchParams.get("id");
let shown = null; // the answer of GET /v1/households/{id}, rendered again on a language switch

const cell = (text, className = "") => {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
};

function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

// A household's history spans years: the county's date and time in full ("2026-11-22 16:30").
const dateTime = (iso) => (iso ? new Date(parseTime(iso) + CHINA_OFFSET_MS).toISOString().slice(0, 16).replace("T", " ") : "");

function memberFacts(member) {
  const facts = [];
  if (member.registered) facts.push(t("household.fact.registered"));
  if (member.breadwinner) facts.push(t("household.fact.breadwinner"));
  if (member.employed === true) facts.push(t("household.fact.employed"));
  if (member.employed === false) facts.push(t("household.fact.unemployed"));
  if (member.severe_disability) facts.push(t("household.fact.severe_disability"));
  if (member.deceased) facts.push(t("household.fact.deceased"));
  return list(facts);
}

function renderMembers(members) {
  $("#members tbody").replaceChildren(
    ...members.map((member) => {
      const row = document.createElement("tr");
      if (member.deceased) row.className = "deceased";
      row.append(
        cell(member.name),
        member.id_masked ? cell(member.id_masked, "mono") : cell(t("board.unverified"), "muted"), // known by no ID number yet
        cell(t(member.id_masked ? "household.age" : "household.age_guessed", { age: member.age })), // a guess, as the caller's
        cell(member.sex ? t(`household.sex.${member.sex}`) : ""),
        cell(memberFacts(member)),
      );
      return row;
    }),
  );
}

function dependencyText(h) {
  if (!h.dependants) return t("household.factors.dependency_none");
  if (!h.working) return t("household.factors.dependency_no_working", { dependants: h.dependants });
  return t("household.factors.dependency", { ratio: h.dependency_ratio, dependants: h.dependants, working: h.working });
}

function renderFactors(h, aid) {
  const living = (h.members ?? []).filter((m) => !m.deceased);
  const employment = {
    employed: living.filter((m) => m.employed === true).length,
    unemployed: living.filter((m) => m.employed === false).length,
    unknown: living.filter((m) => m.employed == null).length,
  };
  const reported = h.reported ?? {};
  const hardship = [
    reported.children ? t("household.reported.children", { count: reported.children }) : "",
    reported.elderly_alone ? t("household.reported.elderly_alone") : "",
    reported.disabled ? t("household.reported.disabled") : "",
    reported.pregnant ? t("household.reported.pregnant") : "",
  ].filter(Boolean);
  const assets = (h.assets ?? []).map((kind) => word("category", kind));
  const helped = Object.entries(aid.by_type ?? {}).map(([type, count]) => t("household.aid_count", { aid: word("board.aid", type), count }));
  $("#factors").replaceChildren(
    item(dependencyText(h)),
    item(t("household.factors.employment", employment)),
    item(hardship.length ? t("household.factors.reported", { items: list(hardship) }) : t("household.factors.reported_none")),
    item(assets.length ? t("household.factors.assets", { items: list(assets) }) : t("household.factors.assets_none")),
    item(aid.times ? t("household.factors.helped", { times: aid.times, items: list(helped), cash: aid.cash_yuan }) : t("household.factors.helped_none")),
  );
}

// Advice from 多事一核 (one check, several aids): each programme's verdict, the facts behind it and what is missing.
function renderEnrolment(h) {
  $("#enrolment").textContent = h.programme
    ? t("household.enrolment.current", { programme: word("household.programme", h.programme) })
    : t("household.enrolment.none");
  const advice = h.programmes ?? [];
  $("#programmes").replaceChildren(...(advice.length ? advice.map(programmeItem) : [item(t("household.programmes.none"))]));
}

function caseStatus(summary) {
  if (summary.merged_into) return t("board.merged_into", { case_id: summary.merged_into });
  return summary.status === "closed" ? word("stage", "closed") : `${word("colour", summary.status)} · ${word("stage", summary.stage)}`;
}

function outcomeText(outcome) {
  if (!outcome) return "";
  const amount = outcome.amount_yuan != null ? ` ¥${outcome.amount_yuan}` : "";
  return `${word("board.aid", outcome.aid_type)}${amount}${outcome.referral ? ` → ${outcome.referral}` : ""}`;
}

function renderCases(cases) {
  const body = $("#cases tbody");
  if (!cases.length) {
    const row = document.createElement("tr");
    const only = cell(t("household.cases.none"), "muted");
    only.colSpan = 7;
    row.append(only);
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(
    ...cases.map((summary) => {
      const row = document.createElement("tr");
      row.dataset.caseId = summary.case_id;
      const id = cell(summary.status === "closed" ? summary.case_id : "", "mono");
      if (summary.status !== "closed") {
        const open = document.createElement("a"); // an open case's card on the board
        open.href = `/#${summary.case_id}`;
        open.textContent = summary.case_id;
        id.append(open);
      }
      const status = cell(caseStatus(summary), "status");
      status.dataset.status = summary.status;
      row.append(
        id,
        cell(word("category", summary.category)),
        cell(word("priority", summary.priority)),
        status,
        cell(dateTime(summary.opened_at)),
        cell(dateTime(summary.closed_at)),
        cell(outcomeText(summary.outcome)),
      );
      return row;
    }),
  );
}

// The signals of every source and every case over time: a row of dots per source, a bar per case.
function renderChart(timeline, cases) {
  const signals = timeline.filter((entry) => SIGNAL_TYPES.has(entry.type) && entry.data?.source);
  const now = Date.now();
  const times = [...signals.map((s) => parseTime(s.at)), ...cases.flatMap((c) => [parseTime(c.opened_at), c.closed_at ? parseTime(c.closed_at) : now])];
  const valid = times.filter((time) => !Number.isNaN(time));
  const [width, left, right, rowHeight] = [1000, 110, 20, 24];
  const rows = [...SOURCES.filter((source) => signals.some((s) => s.data.source === source)), ...(cases.length ? ["cases"] : [])];
  const height = 30 + rows.length * rowHeight + Math.max(0, cases.length - 1) * 8;
  const chart = $("#chart");
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.replaceChildren();
  if (!valid.length) return;
  const [start, end] = [Math.min(...valid), Math.max(...valid, Math.min(...valid) + 3600 * 1000)];
  const x = (time) => left + ((time - start) / (end - start)) * (width - left - right);
  const add = (name, attributes, text) => {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text != null) element.textContent = text;
    chart.append(element);
    return element;
  };
  const titled = (element, text) => {
    const title = document.createElementNS(SVG, "title");
    title.textContent = text;
    element.append(title);
  };
  rows.forEach((row, index) => {
    const y = 10 + index * rowHeight;
    add("text", { x: 0, y: y + 12, class: "row-label" }, row === "cases" ? t("household.chart.cases") : word("source", row));
    add("line", { x1: left, x2: width - right, y1: y + 8, y2: y + 8, class: "axis" });
    if (row === "cases") {
      cases.forEach((summary, n) => {
        const from = x(parseTime(summary.opened_at));
        const to = x(summary.closed_at ? parseTime(summary.closed_at) : now);
        const bar = add("rect", { x: from, y: y + 2 + n * 8, width: Math.max(4, to - from), height: 7, class: `case${summary.closed_at ? "" : " open"}` });
        titled(bar, `${summary.case_id} ${word("category", summary.category)} ${summary.closed_at ? "" : t("household.chart.open_now")}`);
      });
    } else {
      for (const signal of signals.filter((s) => s.data.source === row)) {
        const dot = add("circle", { cx: x(parseTime(signal.at)), cy: y + 8, r: 5, class: `signal ${row}` });
        titled(dot, `${dateTime(signal.at)} ${word("category", signal.data.kind)}`);
      }
    }
  });
  const axisY = height - 6;
  add("text", { x: left, y: axisY }, dateTime(new Date(start).toISOString()));
  add("text", { x: width - right, y: axisY, "text-anchor": "end" }, dateTime(new Date(end).toISOString()));
}

function timelineText(entry) {
  const data = entry.data ?? {};
  const parts = [word("board.event", entry.type)];
  if (data.source) parts.push(`${word("source", data.source)}：${word("category", data.kind)}`);
  if (data.reporter) parts.push(reporterText(data.source, data.reporter));
  if (data.text) parts.push(`“${data.text}”`);
  if (entry.case_id) parts.push(t("household.timeline.case", { case_id: entry.case_id }));
  if (entry.actor && !String(entry.actor).startsWith("system")) parts.push(actorText(entry.actor, entry.actor_name));
  return parts.join(" · ");
}

function renderTimeline(timeline, total) {
  $("#timeline").replaceChildren(
    ...timeline.map((entry) => {
      const li = document.createElement("li");
      li.dataset.type = entry.type;
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = dateTime(entry.at);
      li.append(when, timelineText(entry));
      return li;
    }),
  );
  const more = $("#timeline-more");
  more.hidden = total <= timeline.length;
  more.textContent = t("household.timeline.more", { shown: timeline.length, total });
}

// A household is known by the people living in it, not by its key.
function headingOf(h) {
  const names = (h.members ?? []).filter((member) => member.name && !member.deceased).map((member) => member.name);
  const named = names.slice(0, HEADING_NAMES);
  if (!named.length) return t("household.heading", { household_id: h.household_id });
  const key = names.length > named.length ? "household.heading_named_more" : "household.heading_named";
  return t(key, { names: list(named), count: names.length });
}

function render() {
  if (!shown) return;
  const h = shown.household;
  $("#heading").textContent = headingOf(h);
  $("#heading").title = t("household.heading", { household_id: h.household_id }); // the id, for whoever supports the clerk
  const area = h.area ?? {};
  $("#place").textContent = t("household.place", { place: [placeName(area.town), placeName(area.village)].filter(Boolean).join(" · ") });
  $("#last-signal").textContent = t("household.last_signal", { clock: dateTime(h.last_signal_at) });
  const bySource = SOURCES.filter((s) => h.signals_by_source?.[s]).map((s) => t("household.signals.by_source", { source: word("source", s), count: h.signals_by_source[s] }));
  $("#sources").textContent = t("household.signals.total", { total: h.signals_total, items: list(bySource) });
  renderMembers(h.members ?? []);
  renderFactors(h, shown.aid_history ?? {});
  renderEnrolment(h);
  renderChart(shown.timeline ?? [], shown.cases ?? []);
  renderCases(shown.cases ?? []);
  renderTimeline(shown.timeline ?? [], shown.timeline_total ?? 0);
  $("#household").hidden = false;
}

function problem(text) {
  $("#problem").textContent = text;
  $("#problem").hidden = !text;
}

async function load() {
  if (!householdId) return problem(t("household.missing_id"));
  let response;
  try {
    response = await api(`/v1/households/${encodeURIComponent(householdId)}`);
  } catch {
    return problem(t("common.error.offline"));
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) return showTokenForm(t("common.token.rejected"));
  if (!response.ok) return problem(explain(answer)); // 403 outside the area, 404 unknown: the API says which, in our language
  problem("");
  shown = answer;
  render();
}

async function boot() {
  await Promise.all([loadLanguage(language), loadRegister()]);
  document.body.classList.remove("loading");
  wireLanguageSwitch(() => (shown ? render() : load()));
  wireTokenForm(load);
  $("#change-token").addEventListener("click", () => showTokenForm(t("common.token.another")));
  if (!takeToken()) return showTokenForm(t("household.token.enter"));
  load();
}

boot();
