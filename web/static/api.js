// The REST client: same-origin cookie session, X-CSRF-Token on every change, and
// RFC 9457 problem responses turned into sentences a duty officer can act on in
// their own language (the server's English detail is kept for the record).

import { t } from "./i18n.js";

let csrf = "";
let onUnauthenticated = () => {};
// Every request belongs to the current sign-in; signing out cancels what is still
// on the way, so that an answer for the last user never lands on the next one.
let session = new AbortController();

export function abortAll() {
  session.abort();
  session = new AbortController();
}

export function setCSRF(token) {
  csrf = token || "";
}

// onSessionLost registers what to do when the server says we are not signed in
// (the session expired or was ended elsewhere).
export function onSessionLost(fn) {
  onUnauthenticated = fn;
}

// ApiError is a failed request. kind is one of network, timeout, unauthenticated,
// forbidden, invalid, conflict, stale, notfound, ratelimit, server.
export class ApiError extends Error {
  constructor(kind, status, problem, extra = {}) {
    super(problem?.detail || problem?.title || kind);
    this.kind = kind;
    this.status = status;
    this.problem = problem || {};
    this.code = problem?.code || "";
    this.field = problem?.field || "";
    Object.assign(this, extra);
  }
}

const readTimeout = 30000; // satellite links are slow, but a stuck request must end
const writeTimeout = 60000;

// api calls path and returns its JSON (null for 204). init: {method, body (an
// object, sent as JSON), ifMatch (a version number), signal, quiet401}.
export async function api(path, init = {}) {
  const method = (init.method || "GET").toUpperCase();
  const headers = { Accept: "application/json, application/problem+json" };
  let body;
  if (init.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
  }
  if (method !== "GET" && method !== "HEAD" && csrf) headers["X-CSRF-Token"] = csrf;
  if (init.ifMatch) headers["If-Match"] = `"${init.ifMatch}"`;
  Object.assign(headers, init.headers || {});

  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException("timeout", "TimeoutError")), method === "GET" ? readTimeout : writeTimeout);
  for (const sig of [init.signal, session.signal]) {
    if (!sig) continue;
    if (sig.aborted) ctl.abort(sig.reason);
    else sig.addEventListener("abort", () => ctl.abort(sig.reason), { once: true });
  }
  const mine = session.signal;
  let r;
  try {
    r = await fetch(path, { method, headers, body, credentials: "same-origin", signal: ctl.signal, cache: "no-cache" });
  } catch (e) {
    clearTimeout(timer);
    if (init.signal?.aborted || mine.aborted) throw e; // the caller gave up: not an error to show
    const kind = e?.name === "TimeoutError" || ctl.signal.reason?.name === "TimeoutError" ? "timeout" : "network";
    throw new ApiError(kind, 0, null, { write: method !== "GET" });
  }
  clearTimeout(timer);
  if (r.status === 204) return null;
  const type = r.headers.get("Content-Type") || "";
  let data = null;
  if (type.includes("json")) {
    try {
      data = await r.json();
    } catch {
      data = null;
    }
  }
  if (r.ok) return data;

  const extra = { write: method !== "GET", retryAfter: Number(r.headers.get("Retry-After")) || 0 };
  const kind = kindOf(r.status, data);
  const err = new ApiError(kind, r.status, data, extra);
  if (kind === "unauthenticated" && !init.quiet401) onUnauthenticated(err);
  throw err;
}

function kindOf(status, p) {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return "invalid";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "notfound";
    case 409:
      return "conflict";
    case 412:
    case 428:
      return "stale";
    case 429:
      return "ratelimit";
  }
  return status >= 500 ? "server" : "invalid";
}

// Known server sentences (stable English from the domain package) mapped to
// catalogue keys, so that the reason reaches the user in their language.
const knownDetails = [
  [/reporter cannot verify their own report/i, "error.detail.ownReport"],
  [/approval needs a second person/i, "error.detail.secondPerson"],
  [/cannot be edited/i, "error.detail.locked"],
  [/^cannot (\w+) an incident that is (\w+)/i, "error.detail.wrongStatus"],
  [/a rejection needs a reason/i, "error.detail.reasonRequired"],
  [/alert is already resolved/i, "error.detail.alertResolved"],
  [/alert is (\w+), not open/i, "error.detail.alertNotOpen"],
  [/above your clearance or outside your component/i, "error.detail.marking"],
  [/X-CSRF-Token/i, "error.detail.csrf"],
];

// fieldMessage turns a validation detail about one field into the user's language.
export function fieldMessage(detail) {
  const d = String(detail || "");
  let m;
  if (/is required/i.test(d)) return t("field.required");
  if ((m = d.match(/longer than (\d+) characters/i))) return t("field.tooLong", { n: Number(m[1]) });
  if (/in the future/i.test(d)) return t("field.future");
  if (/before 1945/i.test(d)) return t("field.tooOld");
  if (/latitude .* outside/i.test(d)) return t("field.lat");
  if (/longitude .* outside/i.test(d)) return t("field.lon");
  if (/low <= best <= high/i.test(d)) return t("field.casualtyRange");
  if (/is before occurred_start/i.test(d)) return t("field.endBeforeStart");
  return t("field.invalid", { detail: d });
}

function detailMessage(detail) {
  const d = String(detail || "");
  for (const [re, key] of knownDetails) {
    const m = d.match(re);
    if (m) return t(key, { action: m[1] ? t("action." + m[1].toLowerCase(), { fallback: m[1] }) : "", state: m[2] ? t("status." + m[2].toLowerCase(), { fallback: m[2] }) : m[1] ? t("alert.state." + m[1], { fallback: m[1] }) : "" });
  }
  return "";
}

// describe returns the sentence to show for err. what names the attempted action
// for 403s ("verify this report"), already translated.
export function describe(err, what) {
  if (!(err instanceof ApiError)) return t("error.unexpected");
  const known = detailMessage(err.problem?.detail);
  switch (err.kind) {
    case "network":
      return err.write ? t("error.networkWrite") : t("error.network");
    case "timeout":
      return err.write ? t("error.timeoutWrite") : t("error.timeout");
    case "unauthenticated":
      return t("error.unauthenticated");
    case "forbidden":
      if (known) return known;
      return what ? t("error.forbiddenTo", { what }) : t("error.forbidden");
    case "notfound":
      return t("error.notFound");
    case "conflict":
      return known || t("error.conflict", { detail: err.problem?.detail || "" });
    case "stale":
      return t("error.stale");
    case "ratelimit":
      return t("error.rateLimit", { n: err.retryAfter || 60 });
    case "invalid":
      if (err.status === 413) return t("error.tooLarge");
      if (known) return known;
      return err.field ? t("error.invalidField", { field: err.field, message: fieldMessage(err.problem?.detail) }) : t("error.invalid", { detail: err.problem?.detail || "" });
    case "server":
      return err.status === 503 ? t("error.unavailable") : t("error.server");
  }
  return t("error.unexpected");
}

// optional calls a read endpoint that may not exist on this server version: a 404
// (or 405) answers null instead of throwing, so the feature is hidden.
export async function optional(path, init) {
  try {
    return await api(path, init);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501)) return null;
    // A server without /incidents/map or /incidents/stats routes them to
    // /incidents/{id} and refuses the "id": the endpoint is missing, not the input.
    if (e instanceof ApiError && e.status === 400 && e.field === "id") return null;
    throw e;
  }
}

// query builds a query string from an object, skipping empty values; arrays are
// sent comma-separated (the API accepts both forms).
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) {
      if (v.length) q.set(k, v.join(","));
    } else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}
