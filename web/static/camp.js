// The camp dashboard (#/camp, #/camp/{id}), for the camp manager on a tablet at
// the camp: the camp's own map (zones, sensors by state, open alarms), its open
// alarms with acknowledge and resolve, energy, stocks, water, sensors, assets and
// work orders. Everything comes from one answer, GET /api/v1/camps/{id}/dashboard,
// fetched again when the stream brings an alert of this camp and every 30 s
// otherwise. Charts use the vendored Chart.js (loaded on first use); the figures
// they show are also given as numbers and tables (stocks, sensors, assets), and
// each chart has a spoken summary, so the page works without it and for screen
// readers.

import { t, formatDate, formatDateTime, formatAgo, formatNumber, onLangChange, lang } from "./i18n.js";
import { api, query, describe } from "./api.js";
import { $, h, replace, announce, toast, storageGet, storageSet, debounce } from "./dom.js";
import { state, can, on, username, roleLabel } from "./state.js";
import { applyAlerts } from "./alerts.js";
import { askText, openDialog } from "./dialogs.js";

const POLL_MS = 30000;
// Below this load factor a diesel set is run light: it burns more per kWh and
// glazes (camp/energy.go MinLoadFactor). Used only when the answer lacks the flag.
const MIN_LOAD_FACTOR = 0.3;

let visible = false;
let campId = 0;
let camps = null; // [{id, name}] once loaded
let data = null; // the dashboard answer shown
let gen = 0;
let pollTimer = 0;
// The period of the energy and water figures: a week by default, the rhythm of a
// camp's resupply and maintenance; a month on request.
let days = 7;
let built = false;
let campMap = null; // the camp map view, once made
let mapPromise = null;
let charts = {};
let chartLib = null;
let alertSig = ""; // this camp's alerts as last seen on the stream
// What each section was last drawn from: a section whose data did not change is
// not drawn again, so that a tap on one of its buttons is never lost to a
// refresh replacing the button between the finger's down and up.
let drawn = {};
let lastLoaded = 0;

export function initCamp() {
  onLangChange(() => {
    if (!built) return;
    buildSkeleton();
    if (data) render();
  });
  on("theme", () => visible && data && (delete drawn.charts, renderCharts()));
  on("me", () => visible && data && render());
  // The stream's alerts: when one of this camp's changes (raised, acknowledged,
  // escalated, resolved), the dashboard is fetched again at once.
  const refresh = debounce(() => visible && campId && load(), 400);
  on("alerts", () => {
    if (!visible || !campId) return;
    const sig = campAlertSignature();
    if (sig !== alertSig) {
      alertSig = sig;
      refresh();
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!visible) return;
    if (document.hidden) stopPolling();
    else {
      if (Date.now() - lastLoaded > POLL_MS) load();
      startPolling();
    }
  });
}

export function resetCamp() {
  visible = false;
  stopPolling();
  campId = 0;
  camps = null;
  data = null;
  alertSig = "";
  destroyCharts();
  campMap?.destroy();
  campMap = null;
  mapPromise = null;
  built = false;
  const root = $("#camp");
  if (root) replace(root);
}

// showCamp opens (id: a camp's id, or 0 for the last one seen) or leaves the page.
export async function showCamp(on, id = 0) {
  visible = on;
  if (!on) {
    stopPolling();
    return;
  }
  if (!built) buildSkeleton();
  startPolling();
  if (!camps) await loadCamps();
  if (!visible) return;
  const remembered = Number(storageGet("bluehelm.camp")) || 0;
  let want = id || remembered;
  // Without a choice, the first camp that is set up (has a profile): a mission
  // lists every base, and most may have no sensors yet.
  if (camps?.length && !camps.some((c) => c.id === want)) want = id ? id : (camps.find((c) => c.profiled) || camps[0]).id;
  fillPicker();
  if (!want) {
    status(camps === null ? "" : t("camp.none"));
    return;
  }
  if (want !== id) history.replaceState(null, "", `#/camp/${want}`);
  if (want !== campId) {
    campId = want;
    data = null;
    drawn = {};
    alertSig = campAlertSignature();
    storageSet("bluehelm.camp", String(want));
  }
  $("#camp-picker").value = String(campId);
  await load();
  requestAnimationFrame(() => campMap?.resize());
}

function startPolling() {
  stopPolling();
  pollTimer = setInterval(() => visible && campId && !document.hidden && load(), POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = 0;
}

// campAlertSignature lists this camp's alerts in the live picture with their
// versions: a change of any of them is a reason to fetch the dashboard again.
function campAlertSignature() {
  const out = [];
  for (const a of state.alerts.values()) if (a.area_id === campId) out.push(a.id + ":" + a.version + ":" + a.state);
  return out.sort().join(",");
}

async function loadCamps() {
  try {
    const r = await api("/api/v1/camps");
    const list = Array.isArray(r) ? r : r?.camps || [];
    camps = list
      .map((c) => ({ id: Number(c.id ?? c.area?.id ?? c.camp_id), name: c.name ?? c.area?.name ?? "", profiled: !!c.profile }))
      .filter((c) => c.id > 0)
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch (e) {
    camps = [];
    status(describe(e), true);
  }
}

function fillPicker() {
  const sel = $("#camp-picker");
  if (!sel) return;
  replace(sel, (camps || []).map((c) => h("option", { value: c.id }, c.name || "#" + c.id)));
  sel.disabled = !camps?.length;
  if (campId) sel.value = String(campId);
}

function status(text, error = false) {
  const el = $("#camp-status");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", error);
}

async function load() {
  const id = campId;
  if (!id) return;
  const g = ++gen;
  if (!data) status(t("common.loading"));
  let d;
  try {
    [d] = await Promise.all([api(`/api/v1/camps/${id}/dashboard` + query({ days })), loadChartJS()]);
  } catch (e) {
    if (g !== gen) return;
    status(e.kind === "notfound" ? t("camp.notFound") : describe(e), true);
    return;
  }
  if (g !== gen || !visible || id !== campId) return;
  data = d || {};
  lastLoaded = Date.now();
  status("");
  render();
}

function loadChartJS() {
  if (!chartLib) {
    chartLib = new Promise((resolve) => {
      if (window.Chart) return resolve(window.Chart);
      const s = document.createElement("script");
      s.src = "/vendor/chart.js/chart.umd.js";
      s.onload = () => resolve(window.Chart || null);
      s.onerror = () => resolve(null);
      document.head.append(s);
    });
  }
  return chartLib;
}

// --- the page's frame -------------------------------------------------------------------

function card(id, titleKey, ...body) {
  return h("section", { class: "card camp-card", id, "aria-labelledby": id + "-title" }, h("h2", { id: id + "-title" }, t(titleKey)), ...body);
}

function buildSkeleton() {
  const root = $("#camp");
  if (!root) return;
  const daysSel = h("select", { id: "camp-days", onchange: (ev) => { days = Number(ev.target.value) || 30; load(); } },
    [7, 30].map((n) => h("option", { value: n, selected: n === days }, t("camp.lastDays", { count: n }))));
  replace(root,
    h("div", { class: "dash-head" },
      h("h1", { id: "camp-title" }, t("camp.title")),
      h("div", { class: "camp-controls" },
        h("label", { class: "field" }, h("span", {}, t("camp.pick")), h("select", { id: "camp-picker", onchange: (ev) => { location.hash = `#/camp/${ev.target.value}`; } })),
        h("label", { class: "field" }, h("span", {}, t("camp.period")), daysSel),
        h("button", { type: "button", id: "camp-refresh", class: "secondary", onclick: () => load() }, t("camp.refresh")))),
    h("p", { id: "camp-status", class: "muted", "aria-live": "polite" }),
    h("div", { id: "camp-intrusion", class: "camp-intrusion", role: "alert", hidden: true }),
    h("div", { id: "camp-kpis", class: "kpis" }),
    h("div", { class: "camp-grid" },
      card("camp-map-card", "camp.mapTitle",
        h("div", { id: "camp-map", class: "camp-map", role: "region", "aria-label": t("camp.mapLabel") }),
        h("ul", { class: "camp-legend", "aria-label": t("camp.legend") },
          ["ok", "alarm", "stale", "disabled"].map((s) => h("li", {}, h("span", { class: `state-dot state-${s}`, "aria-hidden": "true" }), t("camp.state." + s))),
          h("li", {}, h("span", { class: "asset-mark", "aria-hidden": "true" }), t("camp.legendAsset")),
          h("li", {}, h("span", { class: "asset-mark due", "aria-hidden": "true" }), t("camp.legendAssetDue")))),
      card("camp-alarms", "camp.alarmsTitle", h("ul", { id: "camp-alarm-list", class: "alert-list" }), h("p", { id: "camp-alarms-empty", class: "muted empty" }, t("camp.noAlarms"))),
      card("camp-work", "camp.workTitle", h("ul", { id: "camp-work-list", class: "camp-work-list" }), h("p", { id: "camp-work-empty", class: "muted empty" }, t("camp.noWork"))),
      card("camp-energy", "camp.energyTitle", h("div", { id: "camp-energy-figures", class: "camp-figures" }),
        h("div", { class: "chart-box" }, h("canvas", { id: "camp-chart-energy", role: "img" }))),
      card("camp-stocks", "camp.stocksTitle", h("div", { class: "chart-box" }, h("canvas", { id: "camp-chart-stocks", role: "img" })), h("div", { id: "camp-stock-table", class: "grid-scroll" })),
      card("camp-water", "camp.waterTitle", h("div", { id: "camp-water-figures", class: "camp-figures" }),
        h("div", { class: "chart-box" }, h("canvas", { id: "camp-chart-water", role: "img" }))),
      card("camp-assets", "camp.assetsTitle", h("div", { id: "camp-asset-table", class: "grid-scroll" })),
      card("camp-sensors", "camp.sensorsTitle", h("div", { id: "camp-sensor-table", class: "grid-scroll" })),
    ),
  );
  built = true;
  drawn = {};
  fillPicker();
  // The map element is new: the old map (if any) was in the old one.
  campMap?.destroy();
  campMap = null;
  mapPromise = null;
  if (data) status("");
}

// --- rendering ---------------------------------------------------------------------------

function render() {
  if (!built || !data) return;
  // Re-rendering every 30 s must not take the keyboard user's place away.
  const active = document.activeElement;
  const key = active?.dataset?.key;
  document.title = t("title.camp");
  const who = [lang(), can("alert.handle"), can("camp.manage"), username()];
  const section = (name, parts, draw) => {
    const sig = JSON.stringify([who, parts]);
    if (drawn[name] === sig) return;
    drawn[name] = sig;
    draw();
  };
  section("intrusion", data.alarms, renderIntrusion);
  section("kpis", [data.sensors?.map((s) => s.state), data.alarms, data.energy?.renewable_share, data.water, data.stocks, data.camp], renderKPIs);
  section("alarms", data.alarms, renderAlarms);
  section("energy", { ...data.energy, series: null }, renderEnergyFigures);
  section("stocks", data.stocks, renderStockTable);
  section("water", [data.water?.litres_per_person_day, data.water?.standard, data.camp?.population], renderWaterFigures);
  section("work", [data.work_orders, data.assets?.map((a) => [a.id, a.name])], renderWork);
  section("assets", data.assets, renderAssets);
  section("sensors", [data.sensors, data.zones?.map((z) => [z.id, z.name])], renderSensors);
  section("charts", [data.energy?.series, data.stocks, data.water, document.documentElement.dataset.theme], renderCharts);
  renderMap();
  // The "3 minutes ago" of what was not drawn again stays true.
  for (const el of document.querySelectorAll("#camp time.ago")) el.textContent = formatAgo(el.getAttribute("datetime"));
  if (key) document.querySelector(`#camp [data-key="${CSS.escape(key)}"]`)?.focus();
}

const unitLabels = { degC: "°C", deg: "°", count: "", "%": "%" };

function unitLabel(u) {
  return u in unitLabels ? unitLabels[u] : u || "";
}

function num(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return "–";
  const f = new Intl.NumberFormat(lang(), { maximumFractionDigits: digits });
  return f.format(Number(x));
}

function pct(x) {
  if (x === null || x === undefined || !Number.isFinite(Number(x))) return "–";
  return num(Number(x) * 100, 0) + " %";
}

function valueText(s) {
  if (!s.last) return t("camp.noReading");
  const u = unitLabel(s.unit);
  if (/^perimeter_(pir|seismic|fence)$/.test(s.kind)) return s.last.value > 0 ? t("camp.triggered") : t("camp.quiet");
  // A camera's value is the bearing of what it detected; 0 is no detection.
  if (s.kind === "perimeter_camera") return s.last.value > 0 ? t("camp.detectedBearing", { deg: num(s.last.value, 0) }) : t("camp.quiet");
  return num(s.last.value, 1) + (u ? (u === "%" || u.startsWith("°") ? "" : " ") + u : "");
}

function kindLabel(k) {
  return t("camp.kind." + k, { fallback: k });
}

function zoneName(id) {
  if (!id) return "";
  return (data.zones || []).find((z) => z.id === id)?.name || "#" + id;
}

function intrusions() {
  return (data.alarms || []).filter((a) => a.rule === "confirmed_intrusion" && a.state !== "resolved");
}

function renderIntrusion() {
  const el = $("#camp-intrusion");
  const list = intrusions().filter((a) => a.state === "open");
  el.hidden = list.length === 0;
  if (!list.length) {
    replace(el);
    return;
  }
  replace(el, h("strong", {}, t("camp.intrusion", { count: list.length })), " ",
    list.map((a) => h("span", { class: "camp-intrusion-item" }, a.title)));
}

function kpi(id, value, label, cls = "") {
  return h("div", { class: "kpi " + cls, id }, h("span", { class: "kpi-value" }, value), h("span", { class: "kpi-label" }, label));
}

function renderKPIs() {
  const sensors = data.sensors || [];
  const count = (st) => sensors.filter((s) => s.state === st).length;
  const open = (data.alarms || []).filter((a) => a.state === "open").length;
  const e = data.energy || {};
  const w = data.water || {};
  const diesel = (data.stocks || []).find((s) => s.item?.kind === "diesel");
  replace($("#camp-kpis"),
    kpi("camp-kpi-alarms", formatNumber(open), t("camp.kpi.openAlarms"), open ? "kpi-bad" : ""),
    kpi("camp-kpi-sensors", t("camp.kpi.sensorsValue", { ok: count("ok"), total: sensors.length }), t("camp.kpi.sensorsOk"), count("stale") + count("alarm") ? "kpi-warn" : ""),
    kpi("camp-kpi-renewable", pct(e.renewable_share), t("camp.kpi.renewable")),
    kpi("camp-kpi-water", w.litres_per_person_day == null ? "–" : num(w.litres_per_person_day, 0) + " L", t("camp.kpi.water", { standard: num(w.standard ?? data.camp?.water_standard_lpd, 0) }),
      Number(w.litres_per_person_day) < Number(w.standard ?? data.camp?.water_standard_lpd) ? "kpi-warn" : ""),
    diesel ? kpi("camp-kpi-diesel", diesel.days_of_supply == null ? t("camp.beyondHorizon") : t("camp.daysValue", { n: num(diesel.days_of_supply, 1) }), t("camp.kpi.diesel"), diesel.below_minimum ? "kpi-bad" : "") : null,
    kpi("camp-kpi-population", formatNumber(data.camp?.population || 0), t("camp.kpi.population")),
  );
}

// --- alarms ---------------------------------------------------------------------------------

const severityRank = { critical: 0, warning: 1, info: 2 };

function renderAlarms() {
  const list = (data.alarms || []).filter((a) => a.state !== "resolved").sort((a, b) =>
    (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1) ||
    (a.rule === "confirmed_intrusion" ? 0 : 1) - (b.rule === "confirmed_intrusion" ? 0 : 1) ||
    (severityRank[a.severity] ?? 3) - (severityRank[b.severity] ?? 3) ||
    Date.parse(b.raised_at) - Date.parse(a.raised_at));
  const mayHandle = can("alert.handle");
  replace($("#camp-alarm-list"), list.map((a) => h("li", {
    class: `alert sev-${a.severity} state-${a.state}${a.rule === "confirmed_intrusion" ? " intrusion" : ""}`, dataset: { id: a.id },
  },
  h("div", { class: "alert-head" },
    h("span", { class: "sev-tag" }, t("severity." + a.severity, { fallback: a.severity })),
    a.rule ? h("span", { class: "rule-tag", dataset: { rule: a.rule } }, t("camp.rule." + a.rule, { fallback: t("alert.rule." + a.rule, { fallback: a.rule }) })) : null,
    h("strong", { class: "alert-title" }, a.title)),
  a.detail ? h("p", { class: "alert-detail" }, a.detail) : null,
  h("p", { class: "alert-meta muted" },
    h("time", { class: "ago", datetime: a.raised_at, title: formatDateTime(a.raised_at) }, formatAgo(a.raised_at)),
    a.state === "acknowledged" ? [" · ", t("alerts.ackBy", { who: a.acknowledged_by || "" })] : null),
  a.escalated_to ? h("p", { class: "escalated" }, t("camp.escalatedTo", { role: roleLabel(a.escalated_to) }), a.escalated_at ? [" · ", h("time", { class: "ago", datetime: a.escalated_at }, formatAgo(a.escalated_at))] : null) : null,
  h("div", { class: "actions" },
    mayHandle && a.state === "open" ? h("button", { type: "button", class: "primary", dataset: { action: "acknowledge", key: `alarm-ack-${a.id}` }, onclick: (ev) => actAlarm(ev.currentTarget, a, "acknowledge") }, t("alerts.acknowledge")) : null,
    mayHandle ? h("button", { type: "button", class: "secondary", dataset: { action: "resolve", key: `alarm-resolve-${a.id}` }, onclick: (ev) => actAlarm(ev.currentTarget, a, "resolve") }, t("alerts.resolve")) : null))));
  $("#camp-alarms-empty").hidden = list.length > 0;
}

async function actAlarm(btn, a, action) {
  let body = {};
  if (action === "resolve") {
    const resolution = await askText({ title: t("alerts.resolveTitle", { title: a.title }), label: t("alerts.resolution"), ok: t("alerts.resolve"), required: false, maxLength: 2000 });
    if (resolution === null) return;
    body = { resolution };
  }
  btn.disabled = true;
  try {
    const updated = await api(`/api/v1/alerts/${a.id}/${action}`, { method: "POST", body, ifMatch: a.version });
    if (updated) applyAlerts([updated]);
    announce(action === "acknowledge" ? t("alerts.acked", { title: a.title }) : t("alerts.resolved", { title: a.title }));
  } catch (e) {
    toast(describe(e, action === "acknowledge" ? t("alerts.forbidAck") : t("alerts.forbidResolve")), "error");
  } finally {
    btn.disabled = false;
  }
  await load();
}

// --- energy and water ---------------------------------------------------------------------------

function figure(id, label, value, flag = null) {
  return h("div", { class: "camp-figure", id }, h("span", { class: "camp-figure-label" }, label), h("span", { class: "camp-figure-value" }, value), flag);
}

function renderEnergyFigures() {
  const e = data.energy || {};
  const lf = Number(e.load_factor);
  const under = e.underloaded ?? (Number.isFinite(lf) && lf < MIN_LOAD_FACTOR);
  replace($("#camp-energy-figures"),
    figure("camp-fig-renewable", t("camp.renewableShare"), pct(e.renewable_share)),
    figure("camp-fig-solar", t("camp.solarKWh"), num(e.solar_kwh, 0) + " kWh"),
    figure("camp-fig-generator", t("camp.generatorKWh"), num(e.generator_kwh, 0) + " kWh"),
    figure("camp-fig-load", t("camp.loadKWh"), num(e.load_kwh, 0) + " kWh"),
    figure("camp-fig-hours", t("camp.generatorHours"), num(e.generator_hours, 0) + " h"),
    figure("camp-fig-loadfactor", t("camp.loadFactor"), pct(e.load_factor),
      under ? h("span", { class: "flag warn", id: "camp-underloaded", title: t("camp.underloadedHint") }, t("camp.underloaded")) : null),
    figure("camp-fig-fuel", t("camp.fuelUsed"), num(e.fuel_litres, 0) + " L"),
    figure("camp-fig-saved", t("camp.fuelSaved"), num(e.fuel_saved_litres, 0) + " L"),
    figure("camp-fig-co2", t("camp.co2Avoided"), num(e.co2_avoided_kg / 1000, 1) + " t"),
  );
}

// waterSeries gives litres per person per day for each day of the answer's series
// (total litres drawn that day, divided by the camp's population).
function waterSeries() {
  const w = data.water || {};
  const pop = Number(data.camp?.population) || 0;
  return (w.series || []).map(([day, litres]) => [day, pop > 0 ? litres / pop : null]);
}

function renderWaterFigures() {
  const w = data.water || {};
  const std = w.standard ?? data.camp?.water_standard_lpd;
  const lpd = w.litres_per_person_day;
  const below = lpd != null && std != null && Number(lpd) < Number(std);
  replace($("#camp-water-figures"),
    figure("camp-fig-lpd", t("camp.waterLPD"), lpd == null ? "–" : num(lpd, 1) + " L",
      below ? h("span", { class: "flag warn", id: "camp-water-below" }, t("camp.belowStandard")) : null),
    figure("camp-fig-standard", t("camp.waterStandard"), std == null ? "–" : num(std, 0) + " L"),
    figure("camp-fig-population", t("camp.kpi.population"), formatNumber(data.camp?.population || 0)),
  );
}

// --- stocks ---------------------------------------------------------------------------------------

function stockOut(s) {
  return s.stock_out ? formatDate(s.stock_out + (String(s.stock_out).length === 10 ? "T12:00:00Z" : "")) : "–";
}

function renderStockTable() {
  const rows = data.stocks || [];
  const box = $("#camp-stock-table");
  if (!rows.length) {
    replace(box, h("p", { class: "muted" }, t("camp.noStocks")));
    return;
  }
  const head = [t("camp.stock.item"), t("camp.stock.balance"), t("camp.stock.dailyUse"), t("camp.stock.days"), t("camp.stock.minimum"), t("camp.stock.stockOut"), t("camp.stock.tank"), t("camp.stock.discrepancy")];
  replace(box, h("table", { class: "data", id: "camp-stock-rows" },
    h("caption", { class: "visually-hidden" }, t("camp.stocksTitle")),
    h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((s) => {
      const unit = s.unit || s.item?.unit || "";
      const disc = s.discrepancy;
      const bad = disc != null && s.balance > 0 && Math.abs(disc) > 0.02 * s.balance;
      return h("tr", { dataset: { id: s.item?.id, kind: s.item?.kind }, class: s.below_minimum ? "below-minimum" : "" },
        h("th", { scope: "row" }, s.item?.name || "", s.item?.store ? h("span", { class: "muted small" }, " · " + s.item.store) : null,
          s.below_minimum ? h("span", { class: "flag bad" }, t("camp.belowMinimum")) : null),
        h("td", { class: "num" }, num(s.balance, 0) + " " + unit),
        h("td", { class: "num" }, s.daily_use == null ? "–" : num(s.daily_use, 0) + " " + unit),
        h("td", { class: "num" }, s.days_of_supply == null ? (s.balance > 0 ? t("camp.beyondHorizon") : "–") : num(s.days_of_supply, 1)),
        h("td", { class: "num" }, num(s.item?.min_days_of_supply, 0)),
        h("td", {}, stockOut(s)),
        h("td", { class: "num" }, s.tank_level == null ? "–" : num(s.tank_level, 0) + " " + unit),
        h("td", { class: "num" + (bad ? " bad" : "") }, disc == null ? "–" : (disc > 0 ? "+" : "") + num(disc, 0) + " " + unit));
    }))));
}

// --- work orders and assets ---------------------------------------------------------------------

function assetName(id) {
  return (data.assets || []).find((a) => a.id === id)?.name || (id ? "#" + id : "");
}

function renderWork() {
  const list = (data.work_orders || []).filter((w) => w.status !== "done");
  const manage = can("camp.manage");
  replace($("#camp-work-list"), list.map((w) => h("li", { class: `work-order wstatus-${w.status}`, dataset: { id: w.id } },
    h("div", { class: "work-head" },
      h("strong", {}, w.task),
      h("span", { class: `status wstatus-${w.status}` }, t("camp.workStatus." + w.status, { fallback: w.status })),
      w.auto ? h("span", { class: "rule-tag" }, t("camp.workAuto")) : null),
    h("p", { class: "muted small" }, [
      assetName(w.asset_id),
      w.due_at_hours ? t("camp.dueAtHours", { n: num(w.due_at_hours, 0) }) : "",
      w.assigned_to ? t("camp.assignedTo", { who: w.assigned_to }) : "",
    ].filter(Boolean).join(" · ")),
    manage ? h("div", { class: "actions" },
      h("button", { type: "button", class: w.status === "open" ? "primary" : "secondary", dataset: { action: "assign", key: `wo-assign-${w.id}` }, onclick: (ev) => assign(ev.currentTarget, w) },
        w.status === "open" ? t("camp.assign") : t("camp.reassign")),
      h("button", { type: "button", class: w.status === "assigned" ? "primary" : "secondary", dataset: { action: "done", key: `wo-done-${w.id}` }, onclick: (ev) => done(ev.currentTarget, w) }, t("camp.done"))) : null)));
  $("#camp-work-empty").hidden = list.length > 0;
}

function askAssignee(w) {
  return openDialog((close) => {
    const input = h("input", { name: "assignee", id: "wo-assignee", value: w.assigned_to || username(), maxlength: 100, required: true, autocomplete: "off", autofocus: true });
    const err = h("p", { class: "error", role: "alert" });
    return h("form", {
      method: "dialog", novalidate: true, onsubmit: (ev) => {
        ev.preventDefault();
        const v = input.value.trim();
        if (!v) {
          err.textContent = t("field.required");
          input.focus();
          return;
        }
        close(v);
      },
    },
    h("h2", {}, t("camp.assignTitle", { task: w.task })),
    h("label", { class: "field" }, h("span", {}, t("camp.assignee")), input),
    err,
    h("div", { class: "actions end" },
      h("button", { type: "button", class: "secondary", onclick: () => close(null) }, t("common.cancel")),
      h("button", { type: "submit", class: "primary" }, t("camp.assign"))));
  }, { label: t("camp.assignTitle", { task: w.task }) });
}

async function assign(btn, w) {
  const who = await askAssignee(w);
  if (who === null) return;
  await workAction(btn, w, "assign", { assigned_to: who }, t("camp.assigned", { task: w.task, who }));
}

async function done(btn, w) {
  const note = await askText({ title: t("camp.doneTitle", { task: w.task }), label: t("camp.doneNote"), ok: t("camp.done"), required: false, maxLength: 1000 });
  if (note === null) return;
  await workAction(btn, w, "done", { note }, t("camp.doneAnnounce", { task: w.task }));
}

async function workAction(btn, w, action, body, said) {
  btn.disabled = true;
  try {
    await api(`/api/v1/work-orders/${w.id}/actions/${action}`, { method: "POST", body, ifMatch: w.version });
    announce(said);
    toast(said);
  } catch (e) {
    toast(describe(e, t("camp.forbidWork")), "error");
  } finally {
    btn.disabled = false;
  }
  await load();
}

function renderAssets() {
  const rows = data.assets || [];
  const box = $("#camp-asset-table");
  if (!rows.length) {
    replace(box, h("p", { class: "muted" }, t("camp.noAssets")));
    return;
  }
  replace(box, h("table", { class: "data", id: "camp-asset-rows" },
    h("caption", { class: "visually-hidden" }, t("camp.assetsTitle")),
    h("thead", {}, h("tr", {}, [t("camp.asset.name"), t("camp.asset.kind"), t("camp.asset.hours"), t("camp.asset.service")].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((a) => {
      const due = a.service_due;
      return h("tr", { dataset: { id: a.id, kind: a.kind }, class: due ? (due.overdue ? "service-overdue" : "service-due") : "" },
        h("th", { scope: "row" }, a.name, a.rated_kw ? h("span", { class: "muted small" }, " · " + num(a.rated_kw, 0) + " kW") : null),
        h("td", {}, t("camp.assetKind." + a.kind, { fallback: a.kind })),
        h("td", { class: "num" }, a.running_hours == null ? "–" : num(a.running_hours, 0) + " h"),
        h("td", {}, due ? h("span", { class: "flag " + (due.overdue ? "bad" : "warn") },
          due.overdue ? t("camp.serviceOverdue", { task: due.task, h: num(-due.hours_to_due, 0) }) : t("camp.serviceDue", { task: due.task, h: num(due.hours_to_due, 0) }),
          due.expected ? " · " + t("camp.expected", { date: formatDate(due.expected) }) : "") : h("span", { class: "muted" }, t("camp.serviceOk"))));
    }))));
}

// --- sensors --------------------------------------------------------------------------------------------

function sparkline(points, label) {
  const pts = (points || []).filter((p) => Array.isArray(p) && Number.isFinite(Number(p[1])));
  if (pts.length < 2) return h("span", { class: "muted small" }, "–");
  const xs = pts.map((p) => Number(p[0])), ys = pts.map((p) => Number(p[1]));
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const W = 96, H = 24;
  const sx = (x) => (x1 > x0 ? ((x - x0) / (x1 - x0)) * W : 0);
  const sy = (y) => (y1 > y0 ? H - 2 - ((y - y0) / (y1 - y0)) * (H - 4) : H / 2);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.map((p) => `${sx(Number(p[0])).toFixed(1)},${sy(Number(p[1])).toFixed(1)}`).join(" "));
  svg.append(line);
  return svg;
}

function renderSensors() {
  const rows = (data.sensors || []).slice().sort((a, b) =>
    ({ alarm: 0, stale: 1, ok: 2, disabled: 3 })[a.state] - ({ alarm: 0, stale: 1, ok: 2, disabled: 3 })[b.state] || a.code.localeCompare(b.code));
  const box = $("#camp-sensor-table");
  if (!rows.length) {
    replace(box, h("p", { class: "muted" }, t("camp.noSensors")));
    return;
  }
  replace(box, h("table", { class: "data", id: "camp-sensor-rows" },
    h("caption", { class: "visually-hidden" }, t("camp.sensorsTitle")),
    h("thead", {}, h("tr", {}, [t("camp.sensor.code"), t("camp.sensor.kind"), t("camp.sensor.zone"), t("camp.sensor.last24h"), t("camp.sensor.last"), t("camp.sensor.state")].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((s) => h("tr", { dataset: { id: s.id, state: s.state }, class: "sensor-" + s.state },
      h("th", { scope: "row" }, h("button", { type: "button", class: "link", dataset: { key: "sensor-" + s.id }, title: t("camp.showOnMap"), onclick: () => campMap?.highlight(s.id) }, s.code)),
      h("td", {}, kindLabel(s.kind)),
      h("td", {}, zoneName(s.zone_id)),
      h("td", {}, sparkline(s.spark, t("camp.sparkLabel", { code: s.code }))),
      h("td", { class: "num" }, valueText(s), s.last ? h("span", { class: "muted small block" }, h("time", { class: "ago", datetime: s.last.time, title: formatDateTime(s.last.time) }, formatAgo(s.last.time))) : null),
      h("td", {}, h("span", { class: `state-badge state-${s.state}` }, h("span", { class: `state-dot state-${s.state}`, "aria-hidden": "true" }), t("camp.state." + s.state, { fallback: s.state }))))))));
}

// describeSensor is the map's tip for a sensor.
function describeSensor(s) {
  return h("div", { class: "bh-tip-body camp-tip" },
    h("strong", {}, s.code),
    h("span", {}, kindLabel(s.kind) + (s.zone_id ? " · " + zoneName(s.zone_id) : "")),
    h("span", {}, valueText(s) + (s.last ? " · " + formatAgo(s.last.time) : "")),
    h("span", { class: `state-${s.state}` }, t("camp.state." + s.state, { fallback: s.state })));
}

// describeAsset is the map's tip for an asset: what it is, its hours, its service.
function describeAsset(a) {
  const due = a.service_due;
  return h("div", { class: "bh-tip-body camp-tip" },
    h("strong", {}, a.name),
    h("span", {}, t("camp.assetKind." + a.kind, { fallback: a.kind }) + (a.running_hours == null ? "" : " · " + num(a.running_hours, 0) + " h")),
    due ? h("span", { class: due.overdue ? "state-alarm" : "state-stale" },
      due.overdue ? t("camp.serviceOverdue", { task: due.task, h: num(-due.hours_to_due, 0) }) : t("camp.serviceDue", { task: due.task, h: num(due.hours_to_due, 0) })) : null);
}

// --- the camp map -------------------------------------------------------------------------------------

function renderMap() {
  if (!mapPromise) {
    const el = $("#camp-map");
    if (!el) return;
    mapPromise = import("./camp/map.js")
      .then((m) => m.createCampMap(el, {
        describeSensor,
        describeAsset,
        onSensorClick: (id) => {
          const row = document.querySelector(`#camp-sensor-rows tr[data-id="${id}"]`);
          row?.scrollIntoView({ block: "nearest" });
          row?.classList.add("flash");
          setTimeout(() => row?.classList.remove("flash"), 1500);
        },
      }))
      .then((m) => {
        if (!built || $("#camp-map") !== el) {
          m.destroy();
          return null;
        }
        campMap = m;
        return m;
      })
      .catch((e) => {
        console.warn("camp map not available", e);
        replace(el, h("p", { class: "map-missing muted" }, t("map.unavailable")));
        return null;
      });
  }
  mapPromise.then((m) => m && data && m.show(data));
}

// --- charts ------------------------------------------------------------------------------------------

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function destroyCharts() {
  for (const c of Object.values(charts)) c.destroy();
  charts = {};
}

function chartBase() {
  const fg = cssVar("--fg") || "#e6edf3";
  const grid = cssVar("--grid") || "rgba(128,128,128,.25)";
  const font = { family: getComputedStyle(document.body).fontFamily, size: Math.round(parseFloat(getComputedStyle(document.body).fontSize) * 0.85) };
  return {
    fg, grid, font,
    options: {
      responsive: true, maintainAspectRatio: false, animation: false, locale: lang(),
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { labels: { color: fg, font, boxWidth: 14 } }, tooltip: { bodyFont: font, titleFont: font } },
    },
    axis: (extra = {}) => ({ ticks: { color: fg, font, maxRotation: 0, autoSkipPadding: 12 }, grid: { color: grid }, ...extra }),
  };
}

function shortTime(unix) {
  return new Intl.DateTimeFormat(lang(), { day: "numeric", month: "short", hour: "2-digit", hourCycle: "h23" }).format(new Date(unix * 1000));
}

function shortDay(unix) {
  return new Intl.DateTimeFormat(lang(), { day: "numeric", month: "short", timeZone: "UTC" }).format(new Date(unix * 1000));
}

function renderCharts() {
  const Chart = window.Chart;
  destroyCharts();
  const ids = ["camp-chart-energy", "camp-chart-stocks", "camp-chart-water"];
  for (const id of ids) {
    const c = $("#" + id);
    if (c) c.closest(".chart-box").hidden = !Chart;
  }
  if (!Chart || !data) return;
  const b = chartBase();

  const e = data.energy || {};
  const series = e.series || [];
  const ce = $("#camp-chart-energy");
  ce.setAttribute("aria-label", t("camp.energyAria", { share: pct(e.renewable_share), solar: num(e.solar_kwh, 0), generator: num(e.generator_kwh, 0) }));
  charts.energy = new Chart(ce, {
    type: "line",
    data: {
      labels: series.map((r) => shortTime(r[0])),
      datasets: [
        { label: t("camp.solar"), data: series.map((r) => r[1]), borderColor: "#f5c400", backgroundColor: "rgba(245,196,0,0.35)", fill: true, stack: "supply", pointRadius: 0, borderWidth: 1.5 },
        { label: t("camp.generator"), data: series.map((r) => r[2]), borderColor: "#f76b15", backgroundColor: "rgba(247,107,21,0.35)", fill: true, stack: "supply", pointRadius: 0, borderWidth: 1.5 },
        { label: t("camp.load"), data: series.map((r) => r[3]), borderColor: b.fg, backgroundColor: "transparent", fill: false, stack: "load", pointRadius: 0, borderWidth: 2 },
      ],
    },
    options: { ...b.options, scales: { x: b.axis(), y: b.axis({ stacked: true, title: { display: true, text: "kW", color: b.fg, font: b.font } }) } },
  });

  const stocks = data.stocks || [];
  const cs = $("#camp-chart-stocks");
  cs.setAttribute("aria-label", t("camp.stocksAria", { count: stocks.length, below: stocks.filter((s) => s.below_minimum).length }));
  charts.stocks = new Chart(cs, {
    type: "bar",
    data: {
      labels: stocks.map((s) => s.item?.name || ""),
      datasets: [
        { type: "bar", label: t("camp.stock.days"), data: stocks.map((s) => (s.days_of_supply == null ? null : Math.min(s.days_of_supply, 365))),
          backgroundColor: stocks.map((s) => (s.below_minimum ? cssVar("--danger") || "#f2555a" : cssVar("--accent") || "#5aa2ea")), order: 2 },
        { type: "line", label: t("camp.stock.minimum"), data: stocks.map((s) => s.item?.min_days_of_supply ?? null), showLine: false,
          pointStyle: "line", pointRadius: 18, pointHoverRadius: 20, pointBorderWidth: 3, borderColor: cssVar("--warn") || "#f5a524", backgroundColor: cssVar("--warn") || "#f5a524", order: 1 },
      ],
    },
    options: { ...b.options, scales: { x: b.axis(), y: b.axis({ beginAtZero: true, title: { display: true, text: t("camp.daysAxis"), color: b.fg, font: b.font } }) } },
  });

  const ws = waterSeries();
  const std = Number(data.water?.standard ?? data.camp?.water_standard_lpd);
  const cw = $("#camp-chart-water");
  cw.setAttribute("aria-label", t("camp.waterAria", { lpd: num(data.water?.litres_per_person_day, 1), standard: num(std, 0) }));
  charts.water = new Chart(cw, {
    type: "bar",
    data: {
      labels: ws.map((r) => shortDay(r[0])),
      datasets: [
        { type: "bar", label: t("camp.waterLPD"), data: ws.map((r) => r[1]), backgroundColor: ws.map((r) => (r[1] != null && r[1] < std ? cssVar("--warn") || "#f5a524" : "#12a594")), order: 2 },
        { type: "line", label: t("camp.waterStandard"), data: ws.map(() => (Number.isFinite(std) ? std : null)), borderColor: b.fg, borderDash: [6, 4], pointRadius: 0, borderWidth: 2, fill: false, order: 1 },
      ],
    },
    options: { ...b.options, scales: { x: b.axis(), y: b.axis({ beginAtZero: true, title: { display: true, text: t("camp.lpdAxis"), color: b.fg, font: b.font } }) } },
  });
}

// For end-to-end tests and the console: what the page shows, read-only by convention.
window.bluehelmCamp = {
  get data() { return data; },
  get campId() { return campId; },
  get charts() { return Object.keys(charts); },
  get lastLoaded() { return lastLoaded; },
};
