// Small helpers shared by the map modules: translation, DOM building, coalesced
// updates.
import * as i18n from "/i18n.js";
import { messages } from "./i18n.js";

// lang is the page's current language code.
export function lang() {
  const l = typeof i18n.lang === "function" ? i18n.lang() : i18n.lang;
  return l || document.documentElement.lang || "en";
}

// tr translates a key through the app's catalogue, falling back to this package's
// own messages (the app merges them, but the map must still speak if it did not),
// and fills {name} placeholders from vars.
export function tr(key, vars) {
  let s = typeof i18n.t === "function" ? i18n.t(key, vars) : key;
  if (s == null || s === key) {
    const l = lang();
    s = messages[l]?.[key] ?? messages.en[key] ?? key;
  }
  s = String(s);
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// onLang calls fn after every language change and returns a function that stops it
// (when the app's onLangChange gives one back).
export function onLang(fn) {
  if (typeof i18n.onLangChange !== "function") return () => {};
  const off = i18n.onLangChange(fn);
  return typeof off === "function" ? off : () => {};
}

// el builds an element. Attributes starting with "on" are listeners; "i18n",
// "i18nAria", "i18nTitle" and "i18nPlaceholder" name message keys that retranslate()
// applies again after a language change.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "i18n") e.dataset.bhI18n = v;
    else if (k === "i18nAria") e.dataset.bhI18nAria = v;
    else if (k === "i18nTitle") e.dataset.bhI18nTitle = v;
    else if (k === "i18nPlaceholder") e.dataset.bhI18nPlaceholder = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) e.append(c);
  retranslate(e, true);
  return e;
}

// retranslate applies the message keys recorded by el() to root and what it holds.
export function retranslate(root, selfOnly = false) {
  const all = selfOnly ? [root] : [root, ...root.querySelectorAll("[data-bh-i18n],[data-bh-i18n-aria],[data-bh-i18n-title],[data-bh-i18n-placeholder]")];
  for (const e of all) {
    const d = e.dataset;
    if (!d) continue;
    if (d.bhI18n) e.textContent = tr(d.bhI18n);
    if (d.bhI18nAria) e.setAttribute("aria-label", tr(d.bhI18nAria));
    if (d.bhI18nTitle) e.title = tr(d.bhI18nTitle);
    if (d.bhI18nPlaceholder) e.placeholder = tr(d.bhI18nPlaceholder);
  }
}

// Coalescer runs fn at most once per animation frame and at most once per
// minInterval ms, however often schedule() is called: the stream may deliver a few
// positions every frame, and rebuilding a 2,000-feature source each frame is waste.
// No frame runs while the page is hidden, so a background tab costs nothing; the
// state is kept and drawn when the page shows again. minInterval may be a function,
// asked each time.
export class Coalescer {
  constructor(fn, minInterval = 0) {
    this.fn = fn;
    this.minInterval = minInterval;
    this.last = -Infinity;
    this.dirty = false;
    this.raf = 0;
    this.timer = 0;
    this.run = this.run.bind(this);
  }
  schedule() {
    this.dirty = true;
    if (!this.raf && !this.timer) this.raf = requestAnimationFrame(this.run);
  }
  run() {
    this.raf = 0;
    const min = typeof this.minInterval === "function" ? this.minInterval() : this.minInterval;
    const wait = this.last + min - performance.now();
    if (wait > 1) {
      this.timer = setTimeout(() => {
        this.timer = 0;
        this.raf = requestAnimationFrame(this.run);
      }, wait);
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.last = performance.now();
    this.fn();
  }
  // now runs fn at once if anything is pending (or always, with force).
  now(force = false) {
    if (!this.dirty && !force) return;
    this.dirty = false;
    this.last = performance.now();
    this.fn();
  }
  cancel() {
    cancelAnimationFrame(this.raf);
    clearTimeout(this.timer);
    this.raf = this.timer = 0;
    this.dirty = false;
  }
}

// loadScript runs a classic script once and resolves to the global it defines.
const scripts = new Map();
export function loadScript(src, global) {
  if (globalThis[global]) return Promise.resolve(globalThis[global]);
  if (!scripts.has(src)) {
    scripts.set(src, new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = () => (globalThis[global] ? resolve(globalThis[global]) : reject(new Error(src + " did not define " + global)));
      s.onerror = () => reject(new Error(src + " could not be loaded"));
      document.head.append(s);
    }));
  }
  return scripts.get(src);
}

// fc wraps features in a FeatureCollection.
export function fc(features) {
  return { type: "FeatureCollection", features };
}

// ensureStylesheet adds a <link rel=stylesheet> unless the page already has it.
export function ensureStylesheet(href) {
  for (const l of document.querySelectorAll('link[rel="stylesheet"]')) {
    if (l.getAttribute("href") === href || l.href === new URL(href, location.href).href) return;
  }
  document.head.append(Object.assign(document.createElement("link"), { rel: "stylesheet", href }));
}

// relTime says how long ago ms was, in the page's language ("3 min ago").
export function relTime(ms, now = Date.now()) {
  const s = Math.round((ms - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(lang(), { numeric: "auto", style: "short" });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, "second");
  if (a < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (a < 86400) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

// dateTime formats ms for people, in the page's language and the browser's zone.
export function dateTime(ms, withSeconds = false) {
  return new Intl.DateTimeFormat(lang(), {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined,
  }).format(ms);
}

// glyphSafe keeps the characters the map can draw: the glyph ranges served with the
// app (U+0000–U+01FF and U+2000–U+20FF, Latin with French and most European
// accents, punctuation) and the CJK scripts the browser draws itself. Any other
// character would make the map ask for a glyph range that does not exist (an
// error in the console, and no label); it is shown as "?" instead.
export function glyphSafe(s) {
  s = String(s ?? "");
  // Fast path: nearly every label is plain Latin.
  if (/^[\u0000-\u01ff\u2000-\u20ff]*$/.test(s)) return s;
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0);
    const ok = c < 0x200 || (c >= 0x2000 && c < 0x2100) || (c >= 0x3040 && c < 0x3100) || (c >= 0x4e00 && c < 0xa000) || (c >= 0xac00 && c < 0xd7a4);
    out += ok ? ch : "?";
  }
  return out;
}

// FrameMeter estimates what one map frame costs the page: from the map's "render"
// event to the next animation frame, which is when the browser has taken the
// picture. On a GPU that is a few milliseconds; on a software-rendered browser (an
// old tablet, a headless test) it can be hundreds, and live updates must then come
// less often or the page never answers a click.
export class FrameMeter {
  constructor(map) {
    this.cost = 16;
    this.onRender = () => {
      if (this.pending) return;
      this.pending = true;
      const t0 = performance.now();
      requestAnimationFrame(() => {
        this.pending = false;
        const c = performance.now() - t0;
        // A slow moving average: one stalled frame does not change the pace.
        this.cost = this.cost * 0.8 + c * 0.2;
      });
    };
    map.on("render", this.onRender);
    this.map = map;
  }
  // interval is the least time between redraws that keeps a map frame under about
  // 1/frames of the page's time (a quarter by default), and never below floor.
  interval(floor, frames = 4) {
    return Math.min(5000, Math.max(floor, frames * this.cost));
  }
  destroy() {
    this.map.off("render", this.onRender);
  }
}
