"use strict";
// Helpers shared by the duty board and the intake page (loaded first by both).

const TOKEN_KEY = "rapidaid.token";
const $ = (selector, root = document) => root.querySelector(selector);
const humanise = (code) => String(code ?? "").replaceAll("_", " ");

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
  const headers = { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY)}`, ...(options.headers || {}) };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    return fetch(path, { method: "POST", ...options, headers, body: JSON.stringify(options.json) });
  }
  return fetch(path, { cache: "no-store", ...options, headers });
}

// The caller's role, or null when the token is refused (status tells why) or /v1/me is unavailable.
async function whoAmI() {
  try {
    const response = await api("/v1/me");
    return { status: response.status, role: response.ok ? (await response.json()).role : null };
  } catch {
    return { status: 0, role: null };
  }
}

// A 422's field path without the leading "body": ["body","subject","id_number"] -> "subject.id_number".
const fieldPath = (loc) => (Array.isArray(loc) ? loc.filter((part) => part !== "body").join(".") : "");

// FastAPI answers 4xx with either a sentence or a list of field errors.
function explain(body) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) return detail.map((e) => (fieldPath(e.loc) ? `${fieldPath(e.loc)}: ${e.msg}` : e.msg)).join("; ");
  if (typeof detail === "string" && detail) return detail;
  return "request refused";
}

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
  return { state: "pending", reason: "still being processed; check again in a moment" };
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
  if (!value) return "required";
  if (/[^\dXx]/.test(value) || /[Xx]./.test(value) || (/[Xx]/.test(value) && value.length < 18)) {
    return "only digits, with X allowed as the last character";
  }
  if (value.length >= 14) {
    const born = birthDateOf(value);
    if (!born) return `has an impossible birth date (${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)})`;
    if (born.getTime() > Date.now()) return "has a birth date in the future";
  }
  if (value.length !== 18) return value.length < 18 ? `${value.length} of 18 characters` : "must be 18 characters";
  const sum = ID_WEIGHTS.reduce((total, weight, i) => total + weight * Number(value[i]), 0);
  // Not saying which check digit is expected, so a mistyped digit elsewhere is not "fixed" by editing the last one.
  return "10X98765432"[sum % 11] === value[17].toUpperCase() ? null : "has a wrong check digit; read the number back to the caller";
}

// ---- times and scores --------------------------------------------------------------------------

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

function formatPoints(points) {
  const n = Math.round(Number(points) * 10) / 10;
  return n < 0 ? `−${-n}` : `+${n}`;
}
