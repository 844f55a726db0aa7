// Small DOM helpers. Content is always set as text or built as elements, never
// as HTML strings: report titles and narratives come from users and devices.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// h builds an element: h("button", {class: "x", onclick: fn, dataset: {id: 3}}, "text", child).
// Attributes with value false/null/undefined are left out; true sets an empty attribute.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else if (k === "checked" || k === "selected" || k === "hidden" || k === "disabled") el[k] = !!v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// debounce runs fn once calls have stopped for ms.
export function debounce(fn, ms) {
  let timer = 0;
  const d = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(timer);
  return d;
}

// announce speaks a message through the page's live regions (screen readers), politely
// or, for critical alerts, assertively.
export function announce(text, assertive = false) {
  const el = document.getElementById(assertive ? "announce-assertive" : "announce-polite");
  if (!el) return;
  // Clearing first makes a repeated message be read again.
  el.textContent = "";
  setTimeout(() => (el.textContent = text), 50);
}

// toast shows a short message at the bottom of the screen; kind is info or error.
export function toast(text, kind = "info", ms = 6000) {
  const host = document.getElementById("toasts");
  if (!host) return;
  const el = h("div", { class: "toast " + kind, role: kind === "error" ? "alert" : "status" }, text);
  host.append(el);
  setTimeout(() => el.remove(), ms);
}

export function storageGet(key, def = null) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? def : v;
  } catch {
    return def;
  }
}

export function storageSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode */
  }
}
