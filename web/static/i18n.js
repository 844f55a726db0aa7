// Translation and formatting. Every user-visible string of the app goes through
// t(key); the catalogues live in /i18n/<code>.js and the map module adds its own
// keys ("map.*") from /map/i18n.js. A key missing in the current language falls
// back to English, so a partial catalogue (or none, as for Arabic today) never
// shows raw keys to a user.

import en from "./i18n/en.js";

// Languages with a catalogue, and their own names for the language menu.
export const languages = [
  { code: "en", name: "English" },
  { code: "fr", name: "Français" },
];

// Right-to-left scripts: the layout uses logical properties, so flipping dir is all
// it takes once a catalogue exists.
const rtl = new Set(["ar", "fa", "he", "ur"]);

const loaders = { fr: () => import("./i18n/fr.js") };
const catalogues = { en: { ...en } };
let mapMessages = null; // {en:{…}, fr:{…}} from /map/i18n.js once loaded
let current = "en";
const listeners = new Set();
let fmt = makeFormatters("en");

const storeKey = "bluehelm.lang";

// initialLanguage is what to use before we know the user: what they chose last
// on this device, else the browser's first language we can serve.
export function initialLanguage() {
  const saved = safeGet(storeKey);
  if (saved) return saved;
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const code = String(l).slice(0, 2).toLowerCase();
    if (code === "en" || loaders[code] || rtl.has(code)) return code;
  }
  return "en";
}

export function lang() {
  return current;
}

export function isRTL() {
  return rtl.has(current);
}

// setLang switches the language, loading its catalogue first. Codes without a
// catalogue are accepted when they name a script direction we know (Arabic): the
// layout follows it and the strings fall back to English.
export async function setLang(code) {
  code = String(code || "en").toLowerCase().slice(0, 2);
  if (!catalogues[code] && loaders[code]) {
    try {
      const mod = await loaders[code]();
      catalogues[code] = { ...mod.default };
    } catch {
      code = "en"; // an unreachable catalogue must not leave the page half-switched
    }
  }
  if (!catalogues[code] && !rtl.has(code)) code = "en";
  if (mapMessages) mergeMap();
  current = code;
  fmt = makeFormatters(code);
  safeSet(storeKey, code);
  const html = document.documentElement;
  html.lang = code;
  html.dir = rtl.has(code) ? "rtl" : "ltr";
  translatePage(document);
  for (const fn of listeners) {
    try {
      fn(code);
    } catch (e) {
      console.warn("language listener failed", e);
    }
  }
}

// loadMapMessages merges the map module's keys. The module is optional: without
// it the app still runs (the map shows a notice), so a failure is not an error.
export async function loadMapMessages() {
  try {
    const mod = await import("/map/i18n.js");
    mapMessages = mod.messages || null;
    mergeMap();
    translatePage(document);
  } catch {
    /* no map module yet */
  }
}

function mergeMap() {
  for (const [code, msgs] of Object.entries(mapMessages || {})) {
    if (!catalogues[code]) continue; // merged when that language's catalogue loads
    // The app's own keys win: a map key never overrides an app string.
    catalogues[code] = { ...msgs, ...catalogues[code] };
  }
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// has reports whether key has a translation in the current language or English.
export function has(key) {
  return (catalogues[current] && key in catalogues[current]) || key in catalogues.en;
}

// t translates key, filling {name} placeholders from vars. A value may be an object
// of plural forms ({one, other, …}) chosen by vars.count with the language's rules.
export function t(key, vars) {
  let v = catalogues[current]?.[key];
  if (v === undefined) v = catalogues.en[key];
  if (v === undefined) return vars && vars.fallback !== undefined ? String(vars.fallback) : key;
  if (typeof v === "object") {
    const n = Number(vars?.count ?? 0);
    v = v[fmt.plural.select(n)] ?? v.other ?? "";
  }
  if (!vars) return v;
  return v.replace(/\{(\w+)\}/g, (m, name) => {
    if (!(name in vars)) return m;
    const x = vars[name];
    // Numbers in the language's notation, every digit kept (a coordinate must not
    // be rounded to the default three decimals).
    return typeof x === "number" ? fmt.numberFull.format(x) : String(x);
  });
}

// tOr translates key, or returns fallback when neither the language nor English has
// it: for labels that come from the server (taxonomy, area names) with our
// translation layered on top.
export function tOr(key, fallback) {
  return has(key) ? t(key) : fallback;
}

// translatePage fills elements marked with data-i18n (text) and data-i18n-attr
// ("aria-label:key;placeholder:key2").
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

function makeFormatters(code) {
  const loc = code;
  // Missions work on the 24-hour clock whatever the language's habit.
  const h23 = { hourCycle: "h23" };
  return {
    dateTime: new Intl.DateTimeFormat(loc, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", ...h23 }),
    date: new Intl.DateTimeFormat(loc, { dateStyle: "medium" }),
    time: new Intl.DateTimeFormat(loc, { hour: "2-digit", minute: "2-digit", ...h23 }),
    utc: new Intl.DateTimeFormat(loc, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC", ...h23 }),
    month: new Intl.DateTimeFormat(loc, { month: "short", year: "numeric", timeZone: "UTC" }),
    number: new Intl.NumberFormat(loc),
    numberFull: new Intl.NumberFormat(loc, { maximumFractionDigits: 20 }),
    coord: new Intl.NumberFormat(loc, { minimumFractionDigits: 5, maximumFractionDigits: 5 }),
    relative: new Intl.RelativeTimeFormat(loc, { numeric: "auto" }),
    plural: new Intl.PluralRules(loc),
  };
}

const asDate = (d) => (d instanceof Date ? d : new Date(d));
const valid = (d) => !Number.isNaN(d.getTime());

export function formatDateTime(d) {
  d = asDate(d);
  return valid(d) ? fmt.dateTime.format(d) : "";
}
export function formatDate(d) {
  d = asDate(d);
  return valid(d) ? fmt.date.format(d) : "";
}
export function formatTime(d) {
  d = asDate(d);
  return valid(d) ? fmt.time.format(d) : "";
}
// formatUTC is the same instant in UTC, as orders and reports quote it ("… Z").
export function formatUTC(d) {
  d = asDate(d);
  return valid(d) ? fmt.utc.format(d) + " UTC" : "";
}
// formatMonth takes "2026-05" (the stats API's month key).
export function formatMonth(ym) {
  const d = new Date(ym + "-01T00:00:00Z");
  return valid(d) ? fmt.month.format(d) : ym;
}
export function formatNumber(n) {
  return fmt.number.format(n);
}
export function formatCoord(n) {
  return fmt.coord.format(n);
}
// formatAgo says how long ago d was ("3 minutes ago"), for lists that update live.
export function formatAgo(d, now = Date.now()) {
  d = asDate(d);
  if (!valid(d)) return "";
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return fmt.relative.format(s, "second");
  if (abs < 3600) return fmt.relative.format(Math.round(s / 60), "minute");
  if (abs < 86400) return fmt.relative.format(Math.round(s / 3600), "hour");
  return fmt.relative.format(Math.round(s / 86400), "day");
}

function safeGet(k) {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
}
function safeSet(k, v) {
  try {
    localStorage.setItem(k, v);
  } catch {
    /* private mode: the choice lasts for this page */
  }
}
