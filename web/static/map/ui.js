// The map's own controls: zoom and north buttons, the layer switcher, the legend,
// the coordinate readout and the attribution line.
import { formatDD, formatDMS, formatMGRS } from "./coords.js";
import { categories, categoryColors, areaKinds, areaStyles, severityColors } from "./palette.js";
import { legendSymbol } from "./symbols.js";
import { riskColors, taskColors } from "./operations.js";
import { scale as riskScale } from "./forecast.js";
import { el, tr, retranslate } from "./util.js";

const icons = {
  plus: '<path d="M11 5h2v14h-2z M5 11h14v2H5z"/>',
  minus: '<path d="M5 11h14v2H5z"/>',
  north: '<path d="M12 3l5 14-5-3-5 3z"/>',
  layers: '<path d="M12 3l9 5-9 5-9-5z M3 12l9 5 9-5v2l-9 5-9-5z"/>',
  legend: '<path d="M4 5h3v3H4zM9 5.5h11v2H9zM4 10.5h3v3H4zM9 11h11v2H9zM4 16h3v3H4zM9 16.5h11v2H9z"/>',
};
const svg = (name) => `<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" fill="currentColor">${icons[name]}</svg>`;

function iconButton(name, aria, onclick, extra = {}) {
  const b = el("button", { type: "button", class: "bh-btn bh-icon-btn", i18nAria: aria, i18nTitle: aria, onclick, ...extra });
  b.innerHTML = svg(name);
  return b;
}

// createToolbar builds the buttons and the two panels they open.
export function createToolbar({ map, layerState, hasBasemap, onLayerToggle, ms }) {
  const panels = [];
  const toggles = [];
  function openPanel(i) {
    if (panels[i] === legendPanel && !legendBuilt) buildLegend();
    panels.forEach((p, k) => {
      const open = k === i && p.hidden;
      p.hidden = !open;
      toggles[k].setAttribute("aria-expanded", String(open));
    });
    const p = panels[i];
    if (!p.hidden) (p.querySelector("input,button") || p).focus({ preventScroll: true });
  }
  function closePanels(e) {
    panels.forEach((p, k) => {
      if (!p.hidden && e?.key === "Escape" && (p === document.activeElement || p.contains(document.activeElement))) toggles[k].focus();
      p.hidden = true;
      toggles[k].setAttribute("aria-expanded", "false");
    });
  }

  // Layer switcher.
  const names = ["tracks", "trails", "labels", "incidents", "areas", "alerts", "operations", "risk", "graticule", ...(hasBasemap ? ["basemap"] : [])];
  const layerPanel = el("div", { id: "map-layers", class: "bh-panel", hidden: true, role: "group", tabindex: "-1", i18nAria: "map.layers.title" },
    el("h2", { class: "bh-panel-title", i18n: "map.layers.title" }),
    names.map((n) => {
      const cb = el("input", { type: "checkbox", name: "layer-" + n, dataset: { layer: n } });
      cb.checked = layerState[n] !== false;
      cb.addEventListener("change", () => onLayerToggle(n, cb.checked));
      return el("label", { class: "bh-check" }, cb, el("span", { i18n: "map.layer." + n }));
    }));

  const legendPanel = el("div", { id: "map-legend", class: "bh-panel bh-legend", hidden: true, role: "group", tabindex: "-1", i18nAria: "map.legend.title" });
  // Built when first opened: its track symbols are drawn by milsymbol, tens of
  // milliseconds on the way to the map's first picture otherwise.
  let legendBuilt = false;
  const buildLegend = () => {
    legendBuilt = true;
    legendPanel.replaceChildren(...legendContent(ms));
  };

  const layersBtn = iconButton("layers", "map.layers.title", () => openPanel(0), { "aria-expanded": "false", "aria-controls": "map-layers" });
  const legendBtn = iconButton("legend", "map.legend.title", () => openPanel(1), { "aria-expanded": "false", "aria-controls": "map-legend" });
  panels.push(layerPanel, legendPanel);
  toggles.push(layersBtn, legendBtn);

  const root = el("div", { class: "bh-toolbar" },
    el("div", { class: "bh-btn-group", role: "group", i18nAria: "map.zoom.group" },
      iconButton("plus", "map.zoom.in", () => map.zoomIn()),
      iconButton("minus", "map.zoom.out", () => map.zoomOut()),
      iconButton("north", "map.zoom.north", () => map.resetNorthPitch())),
    el("div", { class: "bh-btn-group" }, layersBtn, legendBtn),
    layerPanel, legendPanel);
  // Esc anywhere closes an open panel (focus goes back to its button if it was
  // inside); so does a click on the map.
  const onKey = (e) => {
    if (e.key === "Escape" && panels.some((p) => !p.hidden)) {
      e.stopPropagation();
      closePanels(e);
    }
  };
  document.addEventListener("keydown", onKey);
  return {
    root,
    close: closePanels,
    destroy: () => document.removeEventListener("keydown", onKey),
    relabel() {
      retranslate(root);
      if (legendBuilt) buildLegend();
    },
  };
}

function swatch(style) {
  return el("span", { class: "bh-swatch", "aria-hidden": "true", style });
}

function legendContent(ms) {
  const row = (sym, key, vars) => el("li", {}, sym, el("span", { text: tr(key, vars) }));
  const section = (key, items) => el("section", {}, el("h3", { text: tr(key) }), el("ul", {}, items));
  const affs = [["friend", "SFGPU----------"], ["hostile", "SHGPU----------"], ["neutral", "SNGPU----------"], ["unknown", "SUGPU----------"]];
  return [
    el("h2", { class: "bh-panel-title", text: tr("map.legend.title") }),
    section("map.legend.tracks", [
      ...affs.map(([a, sidc]) => row(ms ? legendSymbol(ms, sidc) : swatch(""), "map.aff." + a)),
      row(ms ? Object.assign(legendSymbol(ms, "SFGPU----------"), { className: "bh-legend-stale" }) : swatch(""), "map.legend.stale"),
      row(swatch("background:none;border:0;border-block-start:3px solid #4fc3f7;border-radius:0;block-size:0;margin-block:8px"), "map.legend.trail"),
      row(el("span", { class: "bh-swatch bh-legend-tick", "aria-hidden": "true", text: "↑" }), "map.legend.heading"),
    ]),
    section("map.legend.incidents", [
      ...categories.map((c) => row(swatch(`background:${categoryColors[c]}`), "map.cat." + c)),
      row(el("span", { class: "bh-swatch bh-legend-cluster", "aria-hidden": "true", text: "12" }), "map.legend.cluster"),
      row(swatch("background:#8c8c8c;box-shadow:0 0 0 2.5px #ff1744"), "map.legend.killed"),
      row(el("span", { class: "bh-swatch bh-legend-badge", "aria-hidden": "true", text: "3" }), "map.legend.casualties"),
      row(swatch("background:#8c8c8c;opacity:0.6"), "map.legend.unverified"),
    ]),
    section("map.legend.areas", areaKinds.map((k) => {
      const s = areaStyles[k];
      return row(swatch(`background:${s.opacity ? s.fill + "40" : "transparent"};border:2px ${s.dashed ? "dashed" : "solid"} ${s.line}`), "map.area." + k);
    })),
    section("map.legend.alerts", Object.entries(severityColors).map(([k, c]) => row(swatch(`background:${c};border-radius:50%`), "map.sev." + k))),
    section("map.legend.operations", [
      row(swatch("background:none;border:0;border-block-start:4px solid #00e5ff;border-radius:0;block-size:0;margin-block:8px"), "map.legend.patrolUnderway"),
      row(swatch("background:none;border:0;border-block-start:3px dashed #00e5ff;border-radius:0;block-size:0;margin-block:8px"), "map.legend.patrolApproved"),
      ...Object.entries(taskColors).map(([k, c]) => row(swatch(`background:#111;border:4px solid ${c};border-radius:50%`), "map.legend.task." + k)),
      ...Object.entries(riskColors).map(([k, c]) => row(swatch(`background:none;border:0;border-block-start:6px solid ${c};border-radius:0;block-size:0;margin-block:7px`), "map.legend.risk." + k)),
    ]),
    el("section", {}, el("h3", { text: tr("map.risk.title") }), el("p", { class: "bh-legend-note", text: tr("map.legend.forecast") }), riskScale()),
  ];
}

// createCoords builds the #coords readout: the point under the mouse, or the map
// centre when there is no mouse (touch) or it has left the map.
export function createCoords() {
  const dd = el("span", { class: "bh-coords-dd" });
  const dms = el("span", { class: "bh-coords-dms" });
  const mgrs = el("span", { class: "bh-coords-mgrs" });
  const what = el("span", { class: "bh-coords-what" });
  const root = el("div", { id: "coords", class: "bh-coords", role: "group", i18nAria: "map.coords.label" },
    what, dd, dms, el("span", { class: "bh-coords-mgrs-wrap" }, el("abbr", { class: "bh-coords-tag", text: "MGRS" }), " ", mgrs));
  let cursor = false;
  return {
    root,
    show(lat, lon, underCursor) {
      cursor = underCursor;
      root.dataset.lat = lat.toFixed(6);
      root.dataset.lon = lon.toFixed(6);
      what.textContent = tr(underCursor ? "map.coords.cursor" : "map.coords.centre");
      dd.textContent = formatDD(lat, lon, 5);
      dms.textContent = formatDMS(lat, lon);
      mgrs.textContent = formatMGRS(lat, lon) || "—";
    },
    relabel() {
      retranslate(root);
      what.textContent = tr(cursor ? "map.coords.cursor" : "map.coords.centre");
    },
  };
}

// createAttribution credits the data shown, as text: a link would be a way out of
// an offline page, and MBTiles attributions are HTML we do not trust (parsed in an
// inert document, so nothing in it loads or runs).
export function createAttribution(basemap) {
  let extra = "";
  if (basemap?.attribution) {
    const doc = new DOMParser().parseFromString(String(basemap.attribution), "text/html");
    extra = (doc.body?.textContent || "").replace(/\s+/g, " ").trim();
  }
  const root = el("div", { class: "bh-attribution" });
  const relabel = () => { root.textContent = [tr("map.attribution.ne"), extra].filter(Boolean).join(" · "); };
  relabel();
  return { root, relabel };
}
