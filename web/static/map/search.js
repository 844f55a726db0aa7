// The search box: "lat, lon" in any usual spelling, an MGRS reference, or a place
// name from the gazetteer (GET /api/v1/places), as an ARIA 1.2 combobox.
import { parseLatLon, parseMGRS, formatDD } from "./coords.js";
import { el, tr, lang } from "./util.js";

// placeZoom frames a place by its size: GeoNames' population where known, its
// feature code (PPLC capital, PPLX part of a city) otherwise.
function placeZoom(p) {
  if (p.kind === "PPLX") return 14;
  const n = p.population || 0;
  if (n >= 1e6 || p.kind === "PPLC") return 10;
  if (n >= 1e5) return 11;
  if (n >= 1e4) return 12;
  return 13;
}

// countryName turns an ISO 3166 alpha-2 code into the country's name in the page's
// language ("SS" → "South Sudan" / "Soudan du Sud").
function countryName(code) {
  if (!/^[A-Z]{2}$/i.test(code || "")) return code || "";
  try {
    return new Intl.DisplayNames([lang()], { type: "region" }).of(code.toUpperCase()) || code;
  } catch {
    return code;
  }
}

export function createSearch({ api, onGo }) {
  const input = el("input", {
    id: "place-search", type: "search", role: "combobox", autocomplete: "off", spellcheck: "false",
    "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": "place-results",
    i18nAria: "map.search.label", i18nPlaceholder: "map.search.placeholder",
  });
  const list = el("ul", { id: "place-results", role: "listbox", class: "bh-search-results", hidden: true, i18nAria: "map.search.results" });
  const status = el("div", { class: "bh-visually-hidden", role: "status", "aria-live": "polite" });
  const root = el("div", { class: "bh-search", role: "search" }, input, list, status);

  let options = [];
  let active = -1;
  let seq = 0;
  let timer = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function render(opts, emptyKey) {
    options = opts;
    active = -1;
    list.replaceChildren();
    input.removeAttribute("aria-activedescendant");
    if (!opts.length) {
      if (emptyKey) {
        list.append(el("li", { class: "bh-search-empty", role: "presentation", text: tr(emptyKey) }));
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = tr(emptyKey);
      } else close();
      return;
    }
    opts.forEach((o, i) => {
      const li = el("li", { id: "place-opt-" + i, role: "option", "aria-selected": "false", class: "bh-search-opt" },
        el("span", { class: "bh-search-name", text: o.label }),
        o.detail ? el("span", { class: "bh-search-detail", text: o.detail }) : null);
      // mousedown, not click: the input must keep the focus.
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        choose(i);
      });
      list.append(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    status.textContent = tr("map.search.count", { n: opts.length });
  }

  function setActive(i) {
    const items = list.querySelectorAll('[role="option"]');
    if (!items.length) return;
    active = (i + items.length) % items.length;
    items.forEach((li, k) => li.setAttribute("aria-selected", String(k === active)));
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }

  function choose(i) {
    const o = options[i];
    if (!o) return;
    close();
    input.value = o.value ?? o.label;
    onGo({ lon: o.lon, lat: o.lat, zoom: o.zoom, label: o.label });
  }

  // direct reads coordinates and MGRS without asking the server.
  function direct(v) {
    const m = parseMGRS(v);
    if (m) return { ...m, label: v.toUpperCase().replace(/\s+/g, " "), detail: tr("map.search.mgrs") + " · " + formatDD(m.lat, m.lon, 4) };
    const p = parseLatLon(v);
    if (p) return { ...p, zoom: 13, label: formatDD(p.lat, p.lon, 5), detail: tr("map.search.coords"), value: v };
    return null;
  }

  async function lookup(v, my) {
    let res;
    try {
      res = await api(`/api/v1/places?q=${encodeURIComponent(v)}&limit=10`);
    } catch {
      if (my === seq) render([], "map.search.failed");
      return;
    }
    if (my !== seq) return;
    const nf = new Intl.NumberFormat(lang());
    const places = (res?.places || []).filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
    render(places.map((p) => ({
      lon: p.lon, lat: p.lat, zoom: placeZoom(p), label: p.name,
      detail: [p.admin1, countryName(p.country), p.population ? tr("map.search.population", { n: nf.format(p.population) }) : ""].filter(Boolean).join(" · "),
    })), "map.search.none");
  }

  function update(immediate = false) {
    clearTimeout(timer);
    const v = input.value.trim();
    const my = ++seq;
    if (!v) {
      render([]);
      return;
    }
    const d = direct(v);
    if (d) {
      render([d]);
      return;
    }
    if (v.length < 2) {
      render([]);
      return;
    }
    timer = setTimeout(() => lookup(v, my), immediate ? 0 : 250);
  }

  input.addEventListener("input", () => update());
  input.addEventListener("keydown", (e) => {
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        if (list.hidden) update(true);
        else setActive(active + 1);
        break;
      case "ArrowUp":
        e.preventDefault();
        setActive(active - 1);
        break;
      case "Enter":
        e.preventDefault();
        if (!list.hidden && options.length) choose(active >= 0 ? active : 0);
        else {
          const d = direct(input.value.trim());
          if (d) onGo(d);
          else update(true);
        }
        break;
      case "Escape":
        if (!list.hidden) {
          e.preventDefault();
          e.stopPropagation();
          close();
        } else if (input.value) {
          e.preventDefault();
          input.value = "";
        }
        break;
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));

  return { root, input, destroy: () => clearTimeout(timer) };
}
