// The risk-forecast layer: the early-warning surface (GET /api/v1/forecast) as
// squares filled by the probability of violence within the horizon, a box that
// says which forecast it is (and in plain words when there is none), the
// hottest cells as buttons for keyboard users, and a panel per cell with the
// past incidents behind it (GET /api/v1/forecast/cells/{cell}). The panel sits
// under the box rather than in a popup at the cell: a popup near the top of
// the map would slide under the box, and one near the bottom under the time
// slider.
//
// Off by default: a probability surface is an analyst's tool and covers the map;
// it is fetched only while shown, and again every REFRESH_MS (the server
// forecasts daily and after each import).
import { el, tr, fc, lang, retranslate } from "./util.js";

// Sequential scale (ColorBrewer YlOrRd, 5 classes): a class starts at its
// probability. The server leaves out cells below the first.
export const riskClasses = [
  { from: 0.05, color: "#ffffb2" },
  { from: 0.1, color: "#fecc5c" },
  { from: 0.25, color: "#fd8d3c" },
  { from: 0.5, color: "#f03b20" },
  { from: 0.75, color: "#bd0026" },
];
export const riskLayerIds = ["risk-fill", "risk-line", "risk-selected"];
const MIN = riskClasses[0].from;
const REFRESH_MS = 10 * 60 * 1000;
const RETRY_MS = 60 * 1000;
const TOP = 5;

const fillColor = ["step", ["get", "p"], riskClasses[0].color, ...riskClasses.slice(1).flatMap((c) => [c.from, c.color])];

export function percent(p) {
  return new Intl.NumberFormat(lang(), { style: "percent", maximumFractionDigits: p < 0.1 ? 1 : 0 }).format(p);
}

function day(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeZone: "UTC" }).format(d);
}

export class RiskLayer {
  // api(path) → json (throws {status} on failure); onIncident(id) opens an
  // incident's detail. box and panel are for the map's UI layer.
  constructor(map, { api, onIncident }) {
    this.map = map;
    this.api = api;
    this.onIncident = onIncident;
    this.visible = false;
    this.data = null; // the last answer of /api/v1/forecast
    this.state = "idle"; // idle | loading | ready | none | error
    this.error = "";
    this.timer = 0;
    this.retry = 0;
    this.gen = 0;
    this.cellFor = null; // the cell whose panel is open
    this.#addLayers();
    this.box = el("section", { id: "map-risk", class: "bh-risk-box", hidden: true, role: "region", i18nAria: "map.risk.title", "aria-live": "polite" });
    this.panel = el("section", { id: "map-risk-cell", class: "bh-risk-box bh-risk-panel", hidden: true, role: "region", i18nAria: "map.risk.cellTitle", tabindex: "-1" });
    this.panel.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      e.stopPropagation();
      this.closeCell();
    });
  }

  // closeCell hides the cell's panel and its outline.
  closeCell() {
    this.cellFor = null;
    this.panel.hidden = true;
    this.box.classList.remove("bh-risk-compact");
    this.panel.replaceChildren();
    this.map.getSource("risk-selected")?.setData(fc([]));
  }

  #addLayers() {
    const m = this.map;
    for (const id of ["risk", "risk-selected"]) if (!m.getSource(id)) m.addSource(id, { type: "geojson", data: fc([]) });
    // Under everything operational: areas, incidents, tracks and routes are drawn
    // over the surface, which is translucent so the basemap shows through too.
    const before = m.getLayer("areas-fill") ? "areas-fill" : undefined;
    const hidden = { visibility: "none" };
    const layers = [
      { id: "risk-fill", type: "fill", source: "risk", layout: hidden, paint: { "fill-color": fillColor, "fill-opacity": 0.42, "fill-antialias": false } },
      { id: "risk-line", type: "line", source: "risk", minzoom: 8, layout: hidden, paint: { "line-color": fillColor, "line-width": 0.6, "line-opacity": 0.8 } },
      { id: "risk-selected", type: "line", source: "risk-selected", layout: hidden, paint: { "line-color": "#ffea00", "line-width": 3 } },
    ];
    for (const l of layers) if (!m.getLayer(l.id)) m.addLayer(l, before);
  }

  // setVisible turns the layer on (fetching the forecast) or off. The map's
  // applyLayers sets the layers' visibility itself.
  setVisible(on) {
    this.visible = on;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    this.timer = 0;
    this.box.hidden = !on;
    if (!on) {
      this.closeCell();
      return;
    }
    this.render();
    this.load();
    this.timer = setInterval(() => this.load(), REFRESH_MS);
  }

  // While there is no forecast the first may come any minute (it follows the
  // server's start): ask again sooner than REFRESH_MS.
  #retrySoon() {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => { if (this.visible && this.state === "none") this.load(); }, RETRY_MS);
  }

  async load() {
    const g = ++this.gen;
    if (!this.data) {
      this.state = "loading";
      this.render();
    }
    try {
      const d = await this.api(`/api/v1/forecast?min=${MIN}`);
      if (g !== this.gen || !this.visible) return;
      this.data = d;
      this.state = "ready";
      this.map.getSource("risk")?.setData(this.#features(d));
    } catch (e) {
      if (g !== this.gen || !this.visible) return;
      // 404 is the server saying there is no forecast (yet, or early warning is
      // off): a state to explain, not a failure.
      this.state = e?.status === 404 || e?.kind === "notfound" ? "none" : "error";
      this.error = e?.message || String(e);
      this.data = null;
      this.map.getSource("risk")?.setData(fc([]));
      if (this.state === "none") this.#retrySoon();
    }
    this.render();
  }

  #features(d) {
    const c = d?.cells || {};
    const out = [];
    for (let i = 0; i < (c.id || []).length; i++) {
      const [w, s, e, n] = [c.min_lon[i], c.min_lat[i], c.max_lon[i], c.max_lat[i]];
      out.push({ type: "Feature", id: c.id[i], properties: { id: c.id[i], p: c.probability[i] },
        geometry: { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] } });
    }
    return fc(out);
  }

  #cellBounds(id) {
    const c = this.data?.cells;
    const i = c?.id?.indexOf(id) ?? -1;
    return i < 0 ? null : [c.min_lon[i], c.min_lat[i], c.max_lon[i], c.max_lat[i]];
  }

  // render fills the box: which forecast, the scale, the hottest cells; or why
  // there is nothing to show.
  render() {
    const d = this.data;
    const kids = [el("h2", { class: "bh-panel-title", i18n: "map.risk.title" })];
    if (this.state === "loading") kids.push(el("p", { class: "bh-risk-note", i18n: "map.risk.loading" }));
    else if (this.state === "none") kids.push(el("p", { class: "bh-risk-note", i18n: "map.risk.none" }));
    else if (this.state === "error") kids.push(el("p", { class: "bh-risk-note bh-risk-error", text: tr("map.risk.failed", { error: this.error }) }));
    else if (d) {
      kids.push(el("p", { class: "bh-risk-caption", text: tr("map.risk.caption", { date: day(d.origin), days: d.horizon_days, model: d.model }) }));
      kids.push(scale());
      const c = d.cells;
      const order = c.id.map((_, i) => i).sort((a, b) => c.probability[b] - c.probability[a]).slice(0, TOP);
      if (!order.length) kids.push(el("p", { class: "bh-risk-note", text: tr("map.risk.empty", { min: percent(MIN) }) }));
      else {
        kids.push(el("h3", { class: "bh-risk-top-title", i18n: "map.risk.hottest" }));
        kids.push(el("ol", { class: "bh-risk-top" }, order.map((i) => {
          const lat = (c.min_lat[i] + c.max_lat[i]) / 2, lon = (c.min_lon[i] + c.max_lon[i]) / 2;
          return el("li", {}, el("button", {
            type: "button", class: "bh-btn bh-risk-cell", dataset: { cell: c.id[i] },
            text: tr("map.risk.cellButton", { p: percent(c.probability[i]), lat: lat.toFixed(3), lon: lon.toFixed(3) }),
            onclick: () => this.focusCell(c.id[i]),
          }));
        })));
      }
    }
    this.box.replaceChildren(...kids);
  }

  // focusCell frames a cell and opens its panel (the keyboard's way in).
  focusCell(id) {
    const b = this.#cellBounds(id);
    if (!b) return;
    this.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 120, maxZoom: 11, duration: 300 });
    this.openCell(id, true);
  }

  // openCell shows the panel of a cell: its probability and why; focus moves
  // into it when it was opened from the keyboard.
  async openCell(id, focus = false) {
    this.cellFor = id;
    this.panel.hidden = false;
    // The box keeps which forecast and the scale; the list of hottest cells
    // gives the panel its room (it is back when the panel closes).
    this.box.classList.add("bh-risk-compact");
    this.panel.dataset.cell = id;
    this.panel.replaceChildren(this.#closeButton(), el("p", { class: "bh-risk-note", i18n: "map.risk.loading" }));
    const b = this.#cellBounds(id);
    if (b) {
      const [w, s, e, n] = b;
      this.map.getSource("risk-selected")?.setData(fc([{ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] } }]));
    }
    let cell;
    try {
      cell = await this.api(`/api/v1/forecast/cells/${id}`);
    } catch (e) {
      if (this.cellFor !== id) return;
      const msg = e?.status === 404 || e?.kind === "notfound" ? tr("map.risk.none") : tr("map.risk.failed", { error: e?.message || String(e) });
      this.panel.replaceChildren(this.#closeButton(), el("p", { class: "bh-risk-note", text: msg }));
      return;
    }
    if (this.cellFor !== id) return;
    this.#fillPanel(this.panel, cell);
    if (focus) this.panel.querySelector("a, button.bh-popup-close")?.focus({ preventScroll: true });
  }

  #closeButton() {
    const close = el("button", { type: "button", class: "bh-popup-close", i18nAria: "map.close", onclick: () => this.closeCell() });
    close.textContent = "×";
    return close;
  }

  #fillPanel(body, cell) {
    const reasons = cell.reasons || [];
    const top = Math.max(...reasons.map((r) => r.weight), 1e-9);
    body.replaceChildren(
      this.#closeButton(),
      el("strong", { class: "bh-popup-title bh-risk-prob", text: tr("map.risk.probability", { p: percent(cell.probability), days: cell.horizon_days }) }),
      el("p", { class: "bh-risk-caption", text: tr("map.risk.caption", { date: day(cell.origin), days: cell.horizon_days, model: cell.model }) }),
      el("h3", { class: "bh-risk-why", i18n: "map.risk.why" }),
      reasons.length
        ? el("ol", { class: "bh-risk-reasons" }, reasons.map((r) => el("li", { dataset: { incident: r.incident_id } },
          el("a", {
            href: `#/incidents/${r.incident_id}`, class: "bh-risk-reason",
            onclick: (ev) => {
              if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
              ev.preventDefault();
              this.onIncident?.(r.incident_id);
            },
          },
          el("span", { class: "bh-risk-reason-title", text: r.title || `${tr("map.incident")} ${r.incident_id}` }),
          el("span", { class: "bh-risk-reason-meta", text: [tr("map.cat." + (r.category || "other")), day(r.occurred_start)].filter(Boolean).join(" · ") })),
          el("span", { class: "bh-risk-bar", role: "img", "aria-label": tr("map.risk.weight", { w: percent(r.weight) }), title: tr("map.risk.weight", { w: percent(r.weight) }) },
            el("span", { class: "bh-risk-bar-fill", style: `inline-size:${Math.max(2, Math.round((100 * r.weight) / top))}%` })))))
        : el("p", { class: "bh-risk-note", i18n: "map.risk.noReasons" }),
    );
  }

  relabel() {
    retranslate(this.box);
    this.render();
    if (this.cellFor != null) this.openCell(this.cellFor);
  }

  destroy() {
    clearInterval(this.timer);
    clearTimeout(this.retry);
    this.gen++;
  }
}

// scale is the colour key, shared by the box and the legend.
export function scale() {
  return el("ul", { class: "bh-risk-scale", "aria-label": tr("map.risk.scale") }, riskClasses.map((c, i) => {
    const next = riskClasses[i + 1];
    const label = next ? tr("map.risk.range", { from: percent(c.from), to: percent(next.from) }) : tr("map.risk.above", { from: percent(c.from) });
    return el("li", {}, el("span", { class: "bh-swatch", "aria-hidden": "true", style: `background:${c.color};opacity:0.85` }), el("span", { text: label }));
  }));
}
