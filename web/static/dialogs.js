// Modal dialogs on the native <dialog> element: it traps focus, closes on Esc and
// returns focus to where it was, which is what keyboard users need.

import { t } from "./i18n.js";
import { h } from "./dom.js";

// openDialog shows a dialog built by build(close) and resolves with the value
// passed to close (null on Esc or Cancel).
export function openDialog(build, { label, className = "" } = {}) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const dlg = h("dialog", { class: "dialog " + className, "aria-label": label });
    let result = null;
    const close = (v) => {
      result = v === undefined ? null : v;
      dlg.close();
    };
    dlg.append(build(close));
    dlg.addEventListener("close", () => {
      dlg.remove();
      if (back && back.isConnected) back.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector("[autofocus], textarea, input, select, button.primary");
    first?.focus();
  });
}

// askText asks for a line or paragraph of text (a rejection reason, a resolution).
// Resolves with the text, or null if cancelled.
export function askText({ title, label, ok, required = true, maxLength = 2000, hint = "", danger = false }) {
  return openDialog(
    (close) => {
      const ta = h("textarea", { name: "text", rows: 4, maxlength: maxLength, required, autofocus: true, "aria-describedby": "dlg-text-error" });
      const err = h("p", { class: "error", id: "dlg-text-error" });
      const form = h(
        "form",
        {
          method: "dialog",
          novalidate: true, // our message, in the user's language, not the browser's
          onsubmit: (ev) => {
            ev.preventDefault();
            const v = ta.value.trim();
            if (required && !v) {
              err.textContent = t("field.required");
              ta.setAttribute("aria-invalid", "true");
              ta.focus();
              return;
            }
            close(v);
          },
        },
        h("h2", {}, title),
        hint ? h("p", { class: "muted" }, hint) : null,
        h("label", { class: "field" }, h("span", {}, label), ta),
        err,
        h(
          "div",
          { class: "actions end" },
          h("button", { type: "button", class: "secondary", onclick: () => close(null) }, t("common.cancel")),
          h("button", { type: "submit", class: danger ? "danger" : "primary" }, ok),
        ),
      );
      return form;
    },
    { label: title },
  );
}

// confirmDialog asks a yes/no question.
export function confirmDialog({ title, text, ok, danger = false }) {
  return openDialog(
    (close) =>
      h(
        "div",
        {},
        h("h2", {}, title),
        text ? h("p", {}, text) : null,
        h(
          "div",
          { class: "actions end" },
          h("button", { type: "button", class: "secondary", onclick: () => close(false) }, t("common.cancel")),
          h("button", { type: "button", class: danger ? "danger" : "primary", autofocus: true, onclick: () => close(true) }, ok),
        ),
      ),
    { label: title },
  ).then((v) => v === true);
}
