// The incident filter controls. The same controls appear above the incident list
// and on the dashboard, both bound to the one shared filter state.

import { t, onLangChange, formatCoord } from "./i18n.js";
import { h, replace, debounce } from "./dom.js";
import { state, filters, setFilters, clearFilters, on, filtersActive, categoryLabel, statusLabel, areaRing } from "./state.js";

// dateInput is the local calendar day of d for <input type=date>.
function dateInput(d) {
  if (!d) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// The "to" day is inclusive for people and exclusive for the API: a user who picks
// 12 May as the last day means up to midnight at the end of it.
function parseDay(v, endOfDay) {
  if (!v) return null;
  const [y, m, d] = v.split("-").map(Number);
  if (!y || !m || !d) return null;
  return new Date(y, m - 1, endOfDay ? d + 1 : d, 0, 0, 0, 0);
}

// mountFilters fills form with the controls. opts.drawArea: async () => ring|null
// (present only where a map is at hand).
export function mountFilters(form, opts = {}) {
  const build = () => {
    const cat = h(
      "select",
      { name: "category" },
      h("option", { value: "" }, t("filters.allCategories")),
      state.taxonomy.categories.map((c) => h("option", { value: c.code }, categoryLabel(c.code))),
    );
    const status = h(
      "select",
      { name: "status" },
      h("option", { value: "" }, t("filters.allStatuses")),
      (state.taxonomy.statuses || []).map((s) => h("option", { value: s }, statusLabel(s))),
    );
    const q = h("input", { type: "search", name: "q", autocomplete: "off", placeholder: t("filters.searchPlaceholder"), maxlength: 500 });
    const from = h("input", { type: "date", name: "from" });
    const to = h("input", { type: "date", name: "to" });
    const areaRow = h("div", { class: "filter-area" });
    replace(
      form,
      h("label", { class: "field q" }, h("span", {}, t("filters.text")), q),
      h("label", { class: "field" }, h("span", {}, t("filters.category")), cat),
      h("label", { class: "field" }, h("span", {}, t("filters.status")), status),
      h("label", { class: "field" }, h("span", {}, t("filters.from")), from),
      h("label", { class: "field" }, h("span", {}, t("filters.to")), to),
      areaRow,
    );
    sync();
  };

  const sync = () => {
    const el = (n) => form.elements.namedItem(n);
    if (!el("category")) return;
    el("category").value = filters.category[0] || "";
    el("status").value = filters.status[0] || "";
    if (document.activeElement !== el("q")) el("q").value = filters.q;
    el("from").value = dateInput(filters.from);
    el("to").value = filters.to ? dateInput(new Date(filters.to.getTime() - 1)) : "";
    const areaRow = form.querySelector(".filter-area");
    const buttons = [];
    if (opts.drawArea) {
      buttons.push(
        h(
          "button",
          { type: "button", id: opts.areaButtonId || null, class: "secondary", onclick: drawArea },
          filters.area ? t("filters.redrawArea") : t("filters.drawArea"),
        ),
      );
    }
    if (filters.area) {
      const [w, s, e, n] = bboxOf(filters.area);
      buttons.push(
        h(
          "span",
          { class: "chip", title: [w, s, e, n].map(formatCoord).join(", ") },
          filters.areaLabel || t("filters.areaDrawn"),
          h("button", { type: "button", class: "chip-x", "aria-label": t("filters.clearArea"), onclick: () => setFilters({ area: null, areaLabel: "" }) }, "×"),
        ),
      );
    }
    if (filtersActive()) {
      buttons.push(h("button", { type: "button", class: "link", onclick: () => clearFilters() }, t("filters.clear")));
    }
    replace(areaRow, buttons);
  };

  async function drawArea() {
    const area = areaRing(await opts.drawArea());
    if (area) setFilters({ area, areaLabel: t("filters.areaDrawn") });
  }

  const typed = debounce(() => setFilters({ q: form.elements.namedItem("q").value }), 400);
  form.addEventListener("input", (ev) => {
    if (ev.target.name === "q") typed();
  });
  form.addEventListener("change", (ev) => {
    const v = ev.target.value;
    switch (ev.target.name) {
      case "category":
        setFilters({ category: v ? [v] : [] });
        break;
      case "status":
        setFilters({ status: v ? [v] : [] });
        break;
      case "from":
        setFilters({ from: parseDay(v, false) });
        break;
      case "to":
        setFilters({ to: parseDay(v, true) });
        break;
      case "q":
        typed.cancel();
        setFilters({ q: v });
        break;
    }
  });
  // Enter in the search box applies at once rather than submitting the page.
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    typed.cancel();
    setFilters({ q: form.elements.namedItem("q").value });
  });
  on("filters", sync);
  on("taxonomy", build);
  onLangChange(build);
  build();
}

// bboxOf returns [w,s,e,n] around a ring of [lon,lat] points.
export function bboxOf(points) {
  let w = Infinity,
    s = Infinity,
    e = -Infinity,
    n = -Infinity;
  for (const [x, y] of points) {
    w = Math.min(w, x);
    e = Math.max(e, x);
    s = Math.min(s, y);
    n = Math.max(n, y);
  }
  return Number.isFinite(w) ? [w, s, e, n] : null;
}
