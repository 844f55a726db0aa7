// The public community report page (/report): no login, any language. It asks the
// server for a form token first (the server refuses a report sent within seconds of
// it, which is how bots behave), carries a honeypot field people never see, and is
// rate limited per connection by the server. Nothing about the sender is asked for.

import { t, setLang, initialLanguage, languages, lang, isRTL } from "./i18n.js";
import { $, h, replace, announce } from "./dom.js";

let token = "";
let tokenAt = 0;
let minSeconds = 3;
let maxChars = 1600;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function fetchToken() {
  const r = await fetch("/api/v1/community/report/form", { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!r.ok) throw new Error("form");
  const j = await r.json();
  token = j.token;
  tokenAt = Date.now();
  minSeconds = j.min_seconds ?? minSeconds;
  maxChars = j.max_chars || maxChars;
}

function problemText(p, status) {
  if (status === 429) return p?.detail || t("error.rateLimit", { n: 60 });
  if (status >= 500 || !p?.detail) return t("error.server");
  return p.detail;
}

function applyDir() {
  document.documentElement.lang = lang();
  document.documentElement.dir = isRTL() ? "rtl" : "ltr";
  document.title = t("community.report.title");
}

function langMenu() {
  const sel = h(
    "select",
    {
      id: "report-lang",
      onchange: async (ev) => {
        await setLang(ev.target.value);
        render();
      },
    },
    languages.map((l) => h("option", { value: l.code, selected: l.code === lang() }, l.name)),
  );
  return h("label", { class: "field inline lang-select" }, h("span", {}, t("community.report.language")), sel);
}

function render() {
  applyDir();
  const text = h("textarea", { id: "report-text", name: "text", dir: "auto", maxlength: maxChars, required: true, "aria-describedby": "report-count report-error" });
  const count = h("p", { id: "report-count", class: "muted small counter", "aria-live": "off" }, t("community.report.chars", { count: 0, max: maxChars }));
  text.addEventListener("input", () => {
    count.textContent = t("community.report.chars", { count: [...text.value].length, max: maxChars });
  });
  // The honeypot: off screen and out of the tab order; a person never fills it.
  const hp = h(
    "div",
    { class: "hp", "aria-hidden": "true" },
    h("label", {}, t("community.report.website"), h("input", { id: "report-website", name: "website", type: "text", tabindex: "-1", autocomplete: "off" })),
  );
  const err = h("p", { id: "report-error", class: "error", role: "alert" });
  const send = h("button", { type: "submit", class: "primary", id: "report-send" }, t("community.report.send"));
  const form = h(
    "form",
    {
      id: "report-form",
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.textContent = "";
        if (!text.value.trim()) {
          err.textContent = t("field.required");
          text.setAttribute("aria-invalid", "true");
          text.focus();
          return;
        }
        send.disabled = true;
        send.textContent = t("community.report.sending");
        try {
          // The server refuses a report sent within seconds of loading the form;
          // a quick writer waits out the rest rather than being refused.
          const wait = minSeconds * 1000 + 300 - (Date.now() - tokenAt);
          if (wait > 0) await sleep(wait);
          const r = await fetch("/api/v1/community/report", {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json, application/problem+json" },
            body: JSON.stringify({ text: text.value, token, website: $("#report-website").value }),
          });
          const j = await r.json().catch(() => null);
          if (!r.ok) {
            if (j?.field === "token") {
              // An expired or damaged form: take a new one and ask to send again.
              await fetchToken().catch(() => {});
              err.textContent = t("community.report.retry");
            } else err.textContent = problemText(j, r.status);
            return;
          }
          done(j.reference);
        } catch {
          err.textContent = t("error.networkWrite");
        } finally {
          send.disabled = false;
          send.textContent = t("community.report.send");
        }
      },
    },
    h("label", { class: "field", for: "report-text" }, h("span", {}, t("community.report.text"))),
    text,
    count,
    hp,
    err,
    h("div", { class: "actions end" }, send),
  );
  replace(
    $("#main"),
    langMenu(),
    h("h1", {}, t("community.report.title")),
    h("p", {}, t("community.report.intro")),
    form,
    h("p", { class: "muted" }, t("community.report.emergency")),
  );
}

function done(ref) {
  const msg = t("community.report.sent", { ref });
  replace(
    $("#main"),
    h("h1", {}, t("community.report.title")),
    h("p", { id: "report-done", role: "status" }, msg),
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          await fetchToken().catch(() => {});
          render();
          $("#report-text")?.focus();
        },
      },
      t("community.report.another"),
    ),
  );
  announce(msg);
  $("#main").focus();
}

async function start() {
  await setLang(initialLanguage());
  try {
    await fetchToken();
  } catch {
    applyDir();
    replace($("#main"), h("p", { class: "error", role: "alert" }, t("error.unavailable")));
    return;
  }
  render();
}

start();
