"use strict";
// Helpers shared by the duty board and the intake page.

const TOKEN_KEY = "rapidaid.token";
const $ = (selector, root = document) => root.querySelector(selector);
const humanise = (code) => String(code ?? "").replaceAll("_", " ");

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

function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY)}`, ...(options.headers || {}) };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    return fetch(path, { method: "POST", ...options, headers, body: JSON.stringify(options.json) });
  }
  return fetch(path, { cache: "no-store", ...options, headers });
}

// FastAPI answers 4xx with either a sentence or a list of field errors.
function explain(body) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) return detail.map((e) => `${e.loc.filter((p) => p !== "body").join(".")}: ${e.msg}`).join("; ");
  return detail || "request refused";
}

// Follow a 202's event or command id until the worker has processed or rejected it.
async function outcomeOf(id, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await api(`/v1/events/${encodeURIComponent(id)}`);
    if (response.ok) {
      const result = await response.json();
      if (result.state !== "accepted") return result;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { state: "pending", reason: "still being processed; check again in a moment" };
}

// GB 11643: the 18th character checks the first 17; digits 7–14 are a birth date.
function idNumberError(value) {
  if (!/^\d{17}[\dXx]$/.test(value)) return "must be 17 digits followed by a digit or X";
  const [y, m, d] = [value.slice(6, 10), value.slice(10, 12), value.slice(12, 14)].map(Number);
  const born = new Date(Date.UTC(y, m - 1, d));
  if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d) return "has an impossible birth date";
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((total, w, i) => total + w * Number(value[i]), 0);
  return "10X98765432"[sum % 11] === value[17].toUpperCase() ? null : "has a wrong check digit";
}
