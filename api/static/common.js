"use strict";
// Helpers shared by the duty board and the intake page (loaded first by both).

const TOKEN_KEY = "rapidaid.token";
const LANGUAGE_KEY = "rapidaid.language";
const LANGUAGES = ["zh-CN", "en"];
const $ = (selector, root = document) => root.querySelector(selector);
const humanise = (code) => String(code ?? "").replaceAll("_", " ");

// ---- message catalogue and language ------------------------------------------------------------

let catalogue = {};
let language = LANGUAGES.includes(localStorage.getItem(LANGUAGE_KEY)) ? localStorage.getItem(LANGUAGE_KEY) : "zh-CN";

// A {parameter} as a reader sees it, as the server renders it: codes by the label of the catalogue section
// [labelled] names for the parameter, lists joined, large whole numbers grouped.
function paramText(value, section) {
  if (Array.isArray(value)) return value.map((item) => paramText(item, section)).join(catalogue["factor.separator"] ?? "、");
  if (typeof value === "number") {
    if (Number.isInteger(value)) return Math.abs(value) >= 10000 ? value.toLocaleString("en-US") : String(value);
    return value.toFixed(1);
  }
  return (section && catalogue[`${section}.${labelCode(section, value)}`]) || String(value);
}

// A clock of its own object (referral:<id>:accept) is labelled by its kind (referral.accept), as the server labels it.
const labelCode = (section, code) => (section === "deadline" ? String(code).replace(/^([^:]+):.*:([^:]+)$/, "$1.$2") : code);

// The text of a catalogue key with its {params} filled in; fallback (or the key) when the catalogue lacks it.
function t(key, params = {}, fallback = key) {
  const template = catalogue[key];
  if (template == null) return fallback;
  return template.replace(/\{(\w+)\}/g, (whole, name) => {
    const value = params?.[name];
    return value == null ? whole : paramText(value, catalogue[`labelled.${name}`]);
  });
}

// The word for a code of a catalogue section (stage, tier, category, ...), or the code itself when unknown.
const word = (section, code) => (code == null || code === "" ? "" : t(`${section}.${labelCode(section, code)}`, {}, humanise(code)));
// Who reported: a department by its name in the catalogue (a county's own department code stays as it is), else as given.
const reporterText = (source, reporter) => (source === "department" ? t(`department.${reporter}`, {}, reporter) : reporter);
const list = (parts) => parts.filter(Boolean).join(catalogue["factor.separator"] ?? "、");

// One programme of 多事一核 (one check, several aids): its verdict, the facts behind it and what is missing to decide.
function programmeItem(one) {
  const li = document.createElement("li");
  const verdict = document.createElement("span");
  verdict.className = `verdict ${one.verdict}`;
  verdict.textContent = word("programme.verdict", one.verdict);
  const facts = (one.facts ?? []).map((fact) => t(`programme.fact.${fact.code}`, fact.params ?? {}, humanise(fact.code)));
  const missing = (one.missing ?? []).map((code) => t(`programme.missing.${code}`, {}, humanise(code)));
  li.append(`${word("programme.name", one.programme)}：`, verdict);
  if (facts.length) li.append(` · ${t("household.programmes.facts", { facts: list(facts) })}`);
  if (missing.length) li.append(` · ${t("household.programmes.missing", { missing: list(missing) })}`);
  return li;
}

// A factor as the officer reads it: "未成年子女 2 人 +10", or its code when the catalogue has no label yet.
function factorText(factor) {
  return `${t(`factor.${factor.code}`, factor.params ?? {}, factor.code)} ${formatPoints(factor.points)}`;
}

// Elements name their text by key: data-i18n (text), data-i18n-title, data-i18n-placeholder, data-i18n-label (aria-label).
function translatePage(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of root.querySelectorAll("[data-i18n-title]")) element.title = t(element.dataset.i18nTitle);
  for (const element of root.querySelectorAll("[data-i18n-placeholder]")) element.placeholder = t(element.dataset.i18nPlaceholder);
  for (const element of root.querySelectorAll("[data-i18n-label]")) element.setAttribute("aria-label", t(element.dataset.i18nLabel));
}

async function loadLanguage(wanted) {
  let response;
  try {
    response = await fetch(`/v1/messages/${wanted}`);
  } catch {
    response = null;
  }
  if (!response?.ok) return false; // keep the catalogue already shown
  catalogue = await response.json();
  language = wanted;
  localStorage.setItem(LANGUAGE_KEY, wanted);
  document.documentElement.lang = wanted;
  translatePage();
  return true;
}

// #language switches between 中文 and English; the page re-renders its own texts in onChange.
function wireLanguageSwitch(onChange) {
  $("#language").addEventListener("click", async () => {
    if (await loadLanguage(language === "zh-CN" ? "en" : "zh-CN")) onChange();
  });
}

// ---- county register: places by name ------------------------------------------------------------

const places = new Map(); // code -> {code, name, kind, town?, village?} for the county, towns, villages and grids
let register = null; // the register as served, or null while unknown (the pages then show codes)

async function loadRegister() {
  try {
    const response = await fetch("/v1/register");
    if (!response.ok) return null;
    register = await response.json();
  } catch {
    return null;
  }
  if (register.county) places.set(register.county.code, { ...register.county, kind: "county" });
  for (const town of register.towns ?? []) {
    places.set(town.code, { code: town.code, name: town.name, kind: "town" });
    for (const village of town.villages ?? []) {
      places.set(village.code, { code: village.code, name: village.name, kind: "village", town: town.code });
      for (const grid of village.grids ?? []) places.set(grid.code, { code: grid.code, name: grid.name, kind: "grid", village: village.code });
    }
  }
  return register;
}

// The name of a town, village or grid code, or the code itself when the register does not know it.
const placeName = (code) => places.get(code)?.name ?? code ?? "";

// ---- partners referrals go to (转办转介) -------------------------------------------------------------

let partners = []; // [{name, kind, name_zh, name_en}] from GET /v1/partners, for the 转介 form and partners' names
const partnerName = (name) => {
  const partner = partners.find((one) => one.name === name);
  return partner ? (language === "en" ? partner.name_en : partner.name_zh) : name;
};

async function loadPartners() {
  try {
    const response = await api("/v1/partners");
    if (response.ok) partners = (await response.json()).items ?? [];
  } catch {
    // Partners are then shown by their names in the partners file.
  }
}

// Who did something, as a person reads it: "张伟（官庄镇值班）", "12349 热线接线员", "系统（时限）".
function actorText(role, name) {
  const [kind, tier, area] = String(role ?? "").split(":");
  let text;
  if (kind === "officer") {
    const place = area && area !== "*" ? placeName(area) : register?.county?.name;
    text = tier === "leadership" || !place ? word("tier", tier) : t("common.role.officer", { place });
  } else if (kind === "department") {
    text = t("common.role.department", { name: tier ?? "" });
  } else if (kind === "partner") {
    text = t("common.role.partner", { name: partnerName(tier) });
  } else if (["operator", "admin", "system"].includes(kind)) {
    text = t(`common.role.${kind}`);
  } else {
    text = role ?? "";
  }
  return name ? t("common.actor_named", { name, role: text }) : text;
}

// ---- token and API -----------------------------------------------------------------------------

function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete("token");
    // Keep the token out of the address bar, screenshots and browser history.
    history.replaceState(history.state, "", url);
  }
  return localStorage.getItem(TOKEN_KEY);
}

// Both pages have the same #token-form; onToken runs with the new token once it is stored.
function showTokenForm(message) {
  $("#token-message").textContent = message;
  $("#token-form").hidden = false;
  $("#token-input").focus();
}

function wireTokenForm(onToken) {
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("#token-input").value.trim();
    if (!token) return;
    localStorage.setItem(TOKEN_KEY, token);
    $("#token-input").value = "";
    $("#token-form").hidden = true;
    onToken(token);
  });
}

function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY)}`, "Accept-Language": language, ...(options.headers || {}) };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    return fetch(path, { method: "POST", ...options, headers, body: JSON.stringify(options.json) });
  }
  return fetch(path, { cache: "no-store", ...options, headers });
}

// The caller's role and name, or role null when the token is refused (status tells why) or /v1/me is unavailable.
async function whoAmI() {
  try {
    const response = await api("/v1/me");
    const me = response.ok ? await response.json() : {};
    return { status: response.status, role: me.role ?? null, name: me.name ?? null };
  } catch {
    return { status: 0, role: null, name: null };
  }
}

// A 422's field path without the leading "body": ["body","subject","id_number"] -> "subject.id_number".
const fieldPath = (loc) => (Array.isArray(loc) ? loc.filter((part) => part !== "body").join(".") : "");

// FastAPI answers 4xx with either a sentence or a list of field errors.
function explain(body) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) return detail.map((e) => (fieldPath(e.loc) ? `${fieldPath(e.loc)}: ${e.msg}` : e.msg)).join("; ");
  if (typeof detail === "string" && detail) return detail;
  return t("common.error.refused");
}

// Why the worker refused: the catalogue's sentence when the result names its key, else the reason as sent.
const reasonText = (result) => (result.reason_key ? t(result.reason_key, result.reason_params ?? {}, result.reason) : result.reason) || "";

// Follow a 202's event or command id until the worker has processed or rejected it.
async function outcomeOf(id, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await api(`/v1/events/${encodeURIComponent(id)}`);
      if (response.ok) {
        const result = await response.json();
        if (result.state === "processed" || result.state === "rejected") return result;
      }
    } catch {
      // A dropped poll is retried; only the deadline ends the wait.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { state: "pending", reason: t("common.still_processing") };
}

// An Idempotency-Key; randomUUID exists only on https or localhost, and a desk on plain http still needs one.
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- resident ID numbers (GB 11643) ------------------------------------------------------------

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

// Digits 7–14 as a date, or null when they are not a real day (or not yet typed).
function birthDateOf(value) {
  if (!/^\d{14}/.test(value)) return null;
  const [y, m, d] = [value.slice(6, 10), value.slice(10, 12), value.slice(12, 14)].map(Number);
  const born = new Date(Date.UTC(y, m - 1, d));
  return born.getUTCFullYear() === y && born.getUTCMonth() === m - 1 && born.getUTCDate() === d ? born : null;
}

// Why the (possibly half-typed) value is not a valid ID number, or null. Mistakes that are already
// certain (a letter, an impossible birth date) are reported before all 18 characters are in.
function idNumberError(value) {
  if (!value) return t("common.id.required");
  if (/[^\dXx]/.test(value) || /[Xx]./.test(value) || (/[Xx]/.test(value) && value.length < 18)) return t("common.id.characters");
  if (value.length >= 14) {
    const born = birthDateOf(value);
    if (!born) return t("common.id.impossible_birth", { date: `${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)}` });
    if (born.getTime() > Date.now()) return t("common.id.future_birth");
  }
  if (value.length !== 18) return value.length < 18 ? t("common.id.progress", { n: value.length }) : t("common.id.too_long");
  const sum = ID_WEIGHTS.reduce((total, weight, i) => total + weight * Number(value[i]), 0);
  // Not saying which check digit is expected, so a mistyped digit elsewhere is not "fixed" by editing the last one.
  return "10X98765432"[sum % 11] === value[17].toUpperCase() ? null : t("common.id.check_digit");
}

// ---- times and scores --------------------------------------------------------------------------

const CHINA_OFFSET_MS = 8 * 3600 * 1000; // China Standard Time, UTC+8 all year: the county's clock wherever the browser is

function parseTime(iso) {
  // Python may send microseconds, which not every browser's Date.parse accepts.
  return iso ? Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1")) : NaN;
}

// A moment as the county's wall clock shows it: "16:30", with the date when it is not today there.
function clockText(ms, now = Date.now()) {
  const local = new Date(ms + CHINA_OFFSET_MS).toISOString();
  const today = new Date(now + CHINA_OFFSET_MS).toISOString().slice(0, 10);
  return local.slice(0, 10) === today ? local.slice(11, 16) : `${local.slice(5, 10)} ${local.slice(11, 16)}`;
}

// A span in the words of the catalogue: "45 秒", "12 分钟", "1 小时 5 分", "2 天 3 小时".
function spanText(ms) {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const [d, h, m] = [Math.floor(seconds / 86400), Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60];
  if (d) return t("common.span.days", { d, h });
  if (h) return t("common.span.hours", { h, m });
  if (m) return t("common.span.minutes", { m });
  return t("common.span.seconds", { s: seconds });
}

function formatPoints(points) {
  const n = Math.round(Number(points) * 10) / 10;
  return n < 0 ? `−${-n}` : `+${n}`;
}
