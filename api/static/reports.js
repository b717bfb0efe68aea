"use strict";
// 月调度、季通报: a month's or a quarter's figures for the county and its towns, or for one town (GET /v1/reports).

const SOURCES = ["hotline", "hospital", "department", "visit"];
const PRIORITIES = ["P1", "P2", "P3"];
const TIERS = ["village", "town", "city", "leadership"];
const SVG = "http://www.w3.org/2000/svg";
const MONTHS_SHOWN = 12;
const QUARTERS_SHOWN = 8;
let shown = null; // the last report answered
let ownTown = null; // a town officer's own town: the only one they may pick

// This month in China, whatever the browser's clock zone: [year, month 1-12].
function chinaNow() {
  const now = new Date(Date.now() + CHINA_OFFSET_MS);
  return [now.getUTCFullYear(), now.getUTCMonth() + 1];
}

// The periods to pick from, latest first: ["2026-11", …] or ["2026-Q4", …].
function periods(kind) {
  let [year, month] = chinaNow();
  const out = [];
  if (kind === "month") {
    for (let n = 0; n < MONTHS_SHOWN; n += 1) {
      out.push(`${year}-${String(month).padStart(2, "0")}`);
      [year, month] = month === 1 ? [year - 1, 12] : [year, month - 1];
    }
    return out;
  }
  let quarter = Math.ceil(month / 3);
  for (let n = 0; n < QUARTERS_SHOWN; n += 1) {
    out.push(`${year}-Q${quarter}`);
    [year, quarter] = quarter === 1 ? [year - 1, 4] : [year, quarter - 1];
  }
  return out;
}

function periodText(period) {
  const [year, part] = period.split("-");
  return part.startsWith("Q") ? t("report.quarter", { year, quarter: part.slice(1) }) : t("report.month", { year, month: Number(part) });
}

function fillPeriods() {
  const kind = $("#kind").value;
  const wanted = $("#period").value;
  const options = periods(kind);
  $("#period").replaceChildren(...options.map((p) => new Option(periodText(p), p)));
  if (options.includes(wanted)) $("#period").value = wanted;
}

function fillTowns() {
  const wanted = $("#town").value;
  const towns = (register?.towns ?? []).filter((town) => !ownTown || town.code === ownTown);
  const options = towns.map((town) => new Option(town.name, town.code));
  if (!ownTown) options.unshift(new Option(t("report.town_all"), ""));
  $("#town").replaceChildren(...options);
  if ([...$("#town").options].some((option) => option.value === wanted)) $("#town").value = wanted;
}

const percent = (share) => (share == null ? t("report.no_rate") : `${(share * 100).toFixed(1)}%`);
const minutesText = (value) => (value == null ? t("report.no_rate") : t("report.minutes", { minutes: value.toFixed(1) }));

// A report's figures as [dotted name, value] rows, in the order the API holds them (as its CSV lists them).
function rows(figures, prefix = "") {
  return Object.entries(figures).flatMap(([name, value]) =>
    value && typeof value === "object" ? rows(value, `${prefix}${name}.`) : [[`${prefix}${name}`, value]],
  );
}

function cellText(name, value) {
  if (name.endsWith("share") || name.endsWith("rate")) return percent(value);
  return value == null ? t("report.no_rate") : String(value);
}

// A horizontal bar chart drawn as inline SVG: one row a category, one bar a series (two series side by side).
function barChart(svg, categories, series) {
  const width = 420;
  const rowHeight = series.length > 1 ? 40 : 26;
  const height = categories.length * rowHeight + 8;
  const labelWidth = 120; // room for the longest English label ("department record")
  const valueWidth = 36;
  const most = Math.max(1, ...series.flatMap((one) => one.values));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const parts = [];
  const barHeight = (rowHeight - 8) / series.length;
  categories.forEach((category, row) => {
    const top = 4 + row * rowHeight;
    parts.push(svgElement("text", { x: 0, y: top + rowHeight / 2, "dominant-baseline": "middle" }, category));
    series.forEach((one, n) => {
      const value = one.values[row];
      const y = top + 2 + n * barHeight;
      const length = ((width - labelWidth - valueWidth) * value) / most;
      parts.push(svgElement("rect", { class: `bar${n ? " second" : ""}`, x: labelWidth, y, width: length, height: barHeight - 1 }));
      const label = series.length > 1 ? `${value} ${one.name}` : String(value);
      parts.push(svgElement("text", { class: "value", x: labelWidth + length + 4, y: y + barHeight / 2, "dominant-baseline": "middle" }, label));
    });
  });
  svg.replaceChildren(...parts);
  svg.setAttribute("aria-label", categories.map((c, row) => `${c} ${series.map((s) => s.values[row]).join(" / ")}`).join("; "));
}

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function renderTiles(f) {
  $("#share-2h").textContent = percent(f.emergency_aid.share);
  $("#share-2h-of").textContent = t("report.share_2h_of", { aided: f.emergency_aid.aided_on_time, cases: f.emergency_aid.cases });
  $("#satisfaction").textContent = percent(f.satisfaction.rate);
  const satisfied = f.satisfaction.by_rating.satisfied + f.satisfaction.by_rating.basically_satisfied;
  $("#satisfaction-of").textContent = t("report.satisfaction_of", { satisfied, ratings: f.satisfaction.ratings });
  $("#events-total").textContent = String(f.events_total);
  $("#cases-total").textContent = String(f.cases_opened.total);
  $("#ack-median").textContent = minutesText(f.time_to_acknowledge.median);
  $("#aid-median").textContent = minutesText(f.time_to_aid.median);
}

function renderCharts(f) {
  barChart($("#chart-sources"), SOURCES.map((s) => word("source", s)), [{ name: "", values: SOURCES.map((s) => f.events_by_source[s]) }]);
  barChart($("#chart-priority"), PRIORITIES.map((p) => word("priority", p)), [{ name: "", values: PRIORITIES.map((p) => f.cases_opened.by_priority[p]) }]);
  barChart($("#chart-tiers"), TIERS.map((tier) => word("tier", tier)), [
    { name: t("report.chart_breaches"), values: TIERS.map((tier) => f.breaches.by_tier[tier] ?? 0) },
    { name: t("report.chart_escalations"), values: TIERS.map((tier) => f.escalations.by_tier[tier] ?? 0) },
  ]);
}

function renderTable(answer) {
  const areas = [{ name: answer.area.name, figures: answer.figures }, ...(answer.towns ?? [])];
  const head = document.createElement("tr");
  head.replaceChildren(...[t("report.figure"), ...areas.map((area) => area.name)].map((text) => cell("th", text)));
  $("#figures thead").replaceChildren(head);
  const columns = areas.map((area) => Object.fromEntries(rows(area.figures)));
  $("#figures tbody").replaceChildren(
    ...rows(answer.figures).map(([name]) => {
      const row = document.createElement("tr");
      row.dataset.figure = name;
      row.replaceChildren(cell("td", t(`report.row.${name}`)), ...columns.map((column) => cell("td", cellText(name, column[name]))));
      return row;
    }),
  );
}

function cell(kind, text) {
  const element = document.createElement(kind);
  element.textContent = text;
  return element;
}

function render() {
  if (!shown) return;
  fillPeriods();
  fillTowns();
  $("#heading").textContent = t("report.heading", { area: shown.area.name, period: periodText(shown.period) });
  $("#generated").textContent = t("report.generated", { clock: clockText(parseTime(shown.generated_at)) });
  renderTiles(shown.figures);
  renderCharts(shown.figures);
  renderTable(shown);
  $("#report").hidden = false;
}

function problem(text) {
  $("#problem").textContent = text;
  $("#problem").hidden = !text;
}

function query(format) {
  const params = new URLSearchParams({ period: $("#period").value });
  if ($("#town").value) params.set("town", $("#town").value);
  if (format) params.set("format", format);
  return `/v1/reports?${params}`;
}

async function load() {
  const me = await whoAmI();
  if (me.status === 401) return showTokenForm(t("common.token.rejected"));
  const [kind, tier, area] = String(me.role ?? "").split(":");
  ownTown = kind === "officer" && tier === "town" ? area : null;
  fillTowns();
  let response;
  try {
    response = await api(query());
  } catch {
    return problem(t("common.error.offline"));
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) return showTokenForm(t("common.token.rejected"));
  if (!response.ok) return problem(explain(answer)); // 403 another town or a village, 422 a bad period: the API says which
  problem("");
  shown = answer;
  render();
}

async function download() {
  const response = await api(query("csv"));
  if (!response.ok) return problem(explain(await response.json().catch(() => ({}))));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `rapidaid-report-${shown?.period ?? $("#period").value}.csv`;
  link.click();
  URL.revokeObjectURL(link.href);
}

async function boot() {
  await Promise.all([loadLanguage(language), loadRegister()]);
  document.body.classList.remove("loading");
  fillPeriods();
  wireLanguageSwitch(render);
  wireTokenForm(load);
  $("#change-token").addEventListener("click", () => showTokenForm(t("common.token.another")));
  $("#kind").addEventListener("change", () => {
    fillPeriods();
    load();
  });
  $("#period").addEventListener("change", load);
  $("#town").addEventListener("change", load);
  $("#download").addEventListener("click", download);
  if (!takeToken()) return showTokenForm(t("report.token.enter"));
  load();
}

boot();
