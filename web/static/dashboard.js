// The dashboard: incidents by category × month, by area, casualties by group, open
// alerts, all for the shared filters; a bar opens the matching incidents on the
// map; the exports download exactly what is shown. Chart.js (vendored, a UMD
// global) is loaded the first time the dashboard opens, so the map's first paint
// does not wait for it; without it the figures are still shown as tables.
// Also incidents by region (admin1) and month, and UN peacekeeping fatalities by
// mission and type of incident (GET /api/v1/fatalities/summary: imported public
// data, not filtered). Below, the commander's patrol and response figures (GET
// /api/v1/patrols/figures).

import { t, formatMonth, formatNumber, onLangChange, lang } from "./i18n.js";
import { optional, query, describe } from "./api.js";
import { $, h, replace, debounce } from "./dom.js";
import { state, can, on, filters, setFilters, filterParams, areaRing, categoryLabel, categoryColour, CasualtyGroups, CasualtyKinds } from "./state.js";
import { mountFilters, bboxOf } from "./filters.js";
import { openAlertCount } from "./alerts.js";

let visible = false;
let stats = null;
let charts = {};
let chartLib = null; // Promise<Chart|null>
let gen = 0;

const kindColours = { killed: "#e5484d", injured: "#f5a524", abducted: "#8e4ec6" };
// Regions and fatality types have no colour of their own elsewhere: a qualitative
// palette, the last colour (grey) for "other" and "not given".
const seriesColours = ["#3e63dd", "#12a594", "#f76b15", "#ab4aba", "#ffc53d", "#0090ff", "#e5484d", "#46a758", "#8b8d98"];
const MAX_REGIONS = 8;
const MAX_MISSIONS = 15;
let fatalities = null;
let fatChart = null;
let fatGen = 0;

export function initDashboard() {
  mountFilters($("#dashboard-filters"), {});
  const reload = debounce(() => visible && state.me && load(), 200);
  on("filters", () => {
    updateExports();
    reload();
  });
  on("alerts", () => visible && renderAlerts());
  on("incidents-changed", debounce(() => visible && load(), 5000));
  onLangChange(() => {
    if (visible && fatalities) renderFatalities();
    if (visible && stats) render();
    if (visible && figures) renderFigures();
  });
  on("theme", () => {
    if (visible && fatalities) renderFatalities();
    if (visible && stats) render();
    if (visible && figures) renderFigures();
  });
  $("#figures-period").addEventListener("change", () => visible && loadFigures());
  $("#figures-aor").addEventListener("change", () => visible && loadFigures());
  $("#figures-filters").addEventListener("submit", (ev) => ev.preventDefault());
}

export function resetDashboard() {
  stats = null;
  fatalities = null;
  fatChart?.destroy();
  fatChart = null;
  figures = null;
  aorsLoaded = false;
  replace($("#figures-aor"), h("option", { value: "" }, t("figures.noAor")));
  destroyCharts();
  figChart?.destroy();
  figChart = null;
  visible = false;
}

export function showDashboard(on) {
  visible = on;
  if (!on) return;
  updateExports();
  renderAlerts();
  load();
  loadFatalities();
  loadAors().then(loadFigures);
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

function updateExports() {
  const allowed = can("export");
  const qs = query(filterParams()).replace(/^\?/, "&");
  for (const [id, fmt] of [["#export-geojson", "geojson"], ["#export-csv", "csv"]]) {
    const a = $(id);
    a.hidden = !allowed;
    a.href = `/api/v1/incidents/export?format=${fmt}${qs}`;
  }
}

function renderAlerts() {
  const open = [...state.alerts.values()];
  $("#dash-open-alerts").textContent = formatNumber(open.length);
  const unack = openAlertCount();
  $("#dash-open-alerts").title = t("dash.unacknowledged", { count: unack });
}

async function load() {
  const g = ++gen;
  const status = $("#dash-status");
  status.textContent = t("common.loading");
  status.classList.remove("error");
  const [data] = await Promise.all([
    optional("/api/v1/incidents/stats" + query(filterParams())).catch((e) => ({ error: e })),
    loadChartJS(),
  ]);
  if (g !== gen) return;
  if (data === null) {
    status.textContent = t("dash.unavailable");
    state.features.stats = false;
    return;
  }
  if (data.error) {
    status.textContent = describe(data.error);
    status.classList.add("error");
    return;
  }
  status.textContent = "";
  stats = data;
  render();
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function destroyCharts() {
  for (const c of Object.values(charts)) c.destroy();
  charts = {};
}

function months(rows) {
  return [...new Set(rows.map((r) => r.month))].sort();
}

function render() {
  const s = stats;
  const kill = (s.casualties || []).filter((c) => c.kind === "killed").reduce((n, c) => n + c.best, 0);
  const inj = (s.casualties || []).filter((c) => c.kind === "injured").reduce((n, c) => n + c.best, 0);
  $("#dash-total").textContent = formatNumber(s.total || 0);
  $("#dash-killed").textContent = formatNumber(kill);
  $("#dash-injured").textContent = formatNumber(inj);

  const cm = s.by_category_month || [];
  const ms = months(cm);
  const cats = state.taxonomy.categories.map((c) => c.code).filter((c) => cm.some((r) => r.category === c));
  for (const r of cm) if (!cats.includes(r.category)) cats.push(r.category);
  const count = (cat, m) => cm.find((r) => r.category === cat && r.month === m)?.count || 0;

  const areas = (s.by_area || []).slice().sort((a, b) => b.count - a.count).slice(0, 15);
  const cas = s.casualties || [];
  const best = (g, k) => cas.filter((c) => c.group === g && c.kind === k).reduce((n, c) => n + c.best, 0);
  const groups = CasualtyGroups.filter((g) => CasualtyKinds.some((k) => best(g, k) > 0));

  const rg = regionSeries(s.by_region_month || []);
  tables({ cm, ms, cats, count, areas, groups, best, rg });

  const Chart = window.Chart;
  destroyCharts();
  if (!Chart) {
    for (const id of ["chart-category-month", "chart-area", "chart-casualties", "chart-region-month"]) {
      $("#" + id).hidden = true;
      const d = $(`[data-table-for="${id}"]`).closest("details");
      d.open = true;
    }
    return;
  }
  const fg = cssVar("--fg") || "#e6edf3";
  const grid = cssVar("--grid") || "rgba(128,128,128,.25)";
  const font = { family: getComputedStyle(document.body).fontFamily, size: Math.round(parseFloat(getComputedStyle(document.body).fontSize) * 0.85) };
  const base = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    locale: lang(),
    plugins: { legend: { labels: { color: fg, font, boxWidth: 14 } }, tooltip: { bodyFont: font, titleFont: font } },
  };
  const axis = (stacked) => ({ stacked, ticks: { color: fg, font, precision: 0 }, grid: { color: grid } });

  const c1 = $("#chart-category-month");
  c1.hidden = false;
  c1.setAttribute("aria-label", t("dash.byCategoryMonthAria", { total: s.total || 0 }));
  charts.cm = new Chart(c1, {
    type: "bar",
    data: {
      labels: ms.map(formatMonth),
      datasets: cats.map((c) => ({ label: categoryLabel(c), data: ms.map((m) => count(c, m)), backgroundColor: categoryColour(c), _code: c })),
    },
    options: {
      ...base,
      scales: { x: axis(true), y: axis(true) },
      onClick: (ev, els) => {
        const e = els[0];
        if (!e) return;
        openMonth(cats[e.datasetIndex], ms[e.index]);
      },
      onHover: (ev, els) => (ev.native.target.style.cursor = els.length ? "pointer" : "default"),
    },
  });

  const c2 = $("#chart-area");
  c2.hidden = false;
  c2.setAttribute("aria-label", t("dash.byAreaAria", { count: areas.length }));
  charts.area = new Chart(c2, {
    type: "bar",
    data: { labels: areas.map((a) => a.name), datasets: [{ label: t("dash.total"), data: areas.map((a) => a.count), backgroundColor: cssVar("--accent") || "#4b92db" }] },
    options: {
      ...base,
      indexAxis: "y",
      plugins: { ...base.plugins, legend: { display: false } },
      scales: { x: axis(false), y: axis(false) },
      onClick: (ev, els) => els[0] && openArea(areas[els[0].index]),
      onHover: (ev, els) => (ev.native.target.style.cursor = els.length ? "pointer" : "default"),
    },
  });

  const c3 = $("#chart-casualties");
  c3.hidden = false;
  c3.setAttribute("aria-label", t("dash.casualtiesAria", { killed: kill, injured: inj }));
  charts.cas = new Chart(c3, {
    type: "bar",
    data: {
      labels: groups.map((g) => t("group." + g)),
      datasets: CasualtyKinds.map((k) => ({ label: t("kind." + k), data: groups.map((g) => best(g, k)), backgroundColor: kindColours[k] })),
    },
    options: { ...base, indexAxis: "y", scales: { x: axis(true), y: axis(true) } },
  });

  const c4 = $("#chart-region-month");
  c4.hidden = false;
  c4.setAttribute("aria-label", t("dash.byRegionAria", { count: rg.regions.length }));
  charts.rg = new Chart(c4, {
    type: "bar",
    data: {
      labels: rg.months.map(formatMonth),
      datasets: rg.regions.map((r, i) => ({ label: regionLabel(r), data: rg.months.map((m) => rg.count(r, m)), backgroundColor: regionColour(r, i) })),
    },
    options: {
      ...base,
      scales: { x: axis(true), y: axis(true) },
      onClick: (ev, els) => {
        const e = els[0];
        if (e) openRegion(rg.regions[e.datasetIndex], rg.months[e.index]);
      },
      onHover: (ev, els) => (ev.native.target.style.cursor = els.length && rg.regions[els[0].datasetIndex]?.name ? "pointer" : "default"),
    },
  });
}

// Region keys: {name} for a named region, {none: true} for reports without one,
// {other: true} for the regions beyond the busiest MAX_REGIONS.
function regionSeries(rows) {
  const totals = new Map();
  for (const r of rows) totals.set(r.region, (totals.get(r.region) || 0) + r.count);
  const named = [...totals.keys()].filter((k) => k).sort((a, b) => totals.get(b) - totals.get(a) || a.localeCompare(b));
  const top = named.slice(0, MAX_REGIONS);
  const regions = top.map((name) => ({ name }));
  if (named.length > MAX_REGIONS) regions.push({ other: true });
  if (totals.has("")) regions.push({ none: true });
  const key = (region) => (!region ? "\u0000none" : top.includes(region) ? region : "\u0000other");
  const cells = new Map();
  for (const r of rows) {
    const k = key(r.region) + "|" + r.month;
    cells.set(k, (cells.get(k) || 0) + r.count);
  }
  const regionKey = (rg) => (rg.none ? "\u0000none" : rg.other ? "\u0000other" : rg.name);
  return {
    regions,
    months: months(rows),
    count: (rg, m) => cells.get(regionKey(rg) + "|" + m) || 0,
    total: (rg) => [...cells.entries()].filter(([k]) => k.startsWith(regionKey(rg) + "|")).reduce((n, [, v]) => n + v, 0),
  };
}

function regionLabel(r) {
  return r.none ? t("dash.noRegion") : r.other ? t("dash.otherRegions") : r.name;
}

function regionColour(r, i) {
  return r.none || r.other ? seriesColours[seriesColours.length - 1] : seriesColours[i % (seriesColours.length - 1)];
}

// openRegion shows a region's incidents of a month on the map: the region is
// searched by name (the full-text search covers admin1), so a place that shares
// the name may come too.
function openRegion(r, month) {
  if (!r?.name) return;
  const from = new Date(month + "-01T00:00:00Z");
  const to = new Date(from);
  to.setUTCMonth(to.getUTCMonth() + 1);
  setFilters({
    q: r.name,
    from: filters.from && filters.from > from ? filters.from : from,
    to: filters.to && filters.to < to ? filters.to : to,
  });
  location.hash = "#/map";
}

// --- UN peacekeeping fatalities ------------------------------------------------------

async function loadFatalities() {
  const g = ++fatGen;
  const status = $("#fatalities-status");
  status.classList.remove("error");
  let data;
  try {
    [data] = await Promise.all([optional("/api/v1/fatalities/summary"), loadChartJS()]);
  } catch (e) {
    if (g !== fatGen) return;
    status.textContent = describe(e);
    status.classList.add("error");
    return;
  }
  if (g !== fatGen) return;
  if (data === null) {
    $("#fatalities-card").hidden = true; // an older server without the endpoint
    return;
  }
  fatalities = data;
  renderFatalities();
}

function fatalKey(type) {
  return "fatal." + String(type).toLowerCase().replace(/[^a-z]+/g, "_");
}

function renderFatalities() {
  const f = fatalities;
  const status = $("#fatalities-status");
  const box = $('[data-table-for="chart-fatalities"]');
  const canvas = $("#chart-fatalities");
  fatChart?.destroy();
  fatChart = null;
  if (!f.total) {
    status.textContent = t("dash.fatalitiesNone");
    replace(box, h("p", { class: "muted" }, t("dash.noData")));
    canvas.hidden = true;
    canvas.closest(".chart-box").hidden = true;
    return;
  }
  status.textContent = t("dash.fatalitiesScope", { first: f.first_year, last: f.last_year, total: formatNumber(f.total) });
  const types = (f.incident_types || []).filter((ty) => f.by_mission.some((m) => m.by_type?.[ty]));
  const label = (ty) => t(fatalKey(ty), { fallback: ty });
  replace(box, h("div", { class: "grid-scroll" }, h("table", { class: "data", id: "fatalities-table" },
    h("thead", {}, h("tr", {}, [t("dash.mission"), ...types.map(label), t("dash.fatalityTotal")].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, f.by_mission.map((m) => h("tr", { dataset: { mission: m.mission } }, h("th", { scope: "row" }, m.mission),
      [...types.map((ty) => m.by_type?.[ty] || 0), m.total].map((n) => h("td", { class: "num" }, formatNumber(n)))))))));
  const Chart = window.Chart;
  canvas.closest(".chart-box").hidden = !Chart;
  if (!Chart) {
    box.closest("details").open = true;
    return;
  }
  canvas.hidden = false;
  const shown = f.by_mission.slice(0, MAX_MISSIONS);
  canvas.setAttribute("aria-label", t("dash.fatalitiesAria", { total: f.total, count: f.by_mission.length }));
  const fg = cssVar("--fg") || "#e6edf3";
  const grid = cssVar("--grid") || "rgba(128,128,128,.25)";
  const font = { family: getComputedStyle(document.body).fontFamily, size: Math.round(parseFloat(getComputedStyle(document.body).fontSize) * 0.85) };
  const axis = { stacked: true, ticks: { color: fg, font, precision: 0 }, grid: { color: grid } };
  fatChart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: shown.map((m) => m.mission),
      datasets: types.map((ty, i) => ({ label: label(ty), data: shown.map((m) => m.by_type?.[ty] || 0), backgroundColor: seriesColours[i % seriesColours.length] })),
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false, locale: lang(), indexAxis: "y",
      plugins: { legend: { labels: { color: fg, font, boxWidth: 14 } }, tooltip: { bodyFont: font, titleFont: font } },
      scales: { x: axis, y: axis },
    },
  });
}

// The same figures as tables: for screen readers, for copying into a report, and
// in place of the charts when the chart library is missing.
function tables({ cm, ms, cats, count, areas, groups, best, rg }) {
  const table = (head, rows) =>
    h("div", { class: "grid-scroll" }, h("table", { class: "data" },
      h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((x, i) => (i === 0 ? h("th", { scope: "row" }, x) : h("td", { class: "num" }, typeof x === "number" ? formatNumber(x) : x))))))));
  replace($('[data-table-for="chart-category-month"]'), cm.length ? table([t("form.category"), ...ms.map(formatMonth)], cats.map((c) => [categoryLabel(c), ...ms.map((m) => count(c, m))])) : h("p", { class: "muted" }, t("dash.noData")));
  replace($('[data-table-for="chart-area"]'), areas.length ? table([t("dash.area"), t("dash.total")], areas.map((a) => [a.name, a.count])) : h("p", { class: "muted" }, t("dash.noData")));
  replace($('[data-table-for="chart-region-month"]'), rg.regions.length ? table([t("dash.region"), ...rg.months.map(formatMonth), t("dash.fatalityTotal")], rg.regions.map((r) => [regionLabel(r), ...rg.months.map((m) => rg.count(r, m)), rg.total(r)])) : h("p", { class: "muted" }, t("dash.noData")));
  replace($('[data-table-for="chart-casualties"]'), groups.length ? table([t("form.group"), ...CasualtyKinds.map((k) => t("kind." + k))], groups.map((g) => [t("group." + g), ...CasualtyKinds.map((k) => best(g, k))])) : h("p", { class: "muted" }, t("dash.noData")));
}

function openMonth(cat, month) {
  const from = new Date(month + "-01T00:00:00Z");
  const to = new Date(from);
  to.setUTCMonth(to.getUTCMonth() + 1);
  // Keep a narrower period the user already chose.
  setFilters({
    category: cat ? [cat] : [],
    from: filters.from && filters.from > from ? filters.from : from,
    to: filters.to && filters.to < to ? filters.to : to,
  });
  location.hash = "#/map";
}

function openArea(a) {
  const area = state.areas.get(a.area_id);
  const ring = area?.geometry?.coordinates;
  // A polygon is searched by its outline (the stats counted incidents inside it);
  // a multipolygon by the box around its parts, which may hold a few more.
  let searched = null;
  if (area?.geometry?.type === "Polygon") searched = areaRing(ring[0]);
  else if (area?.geometry?.type === "MultiPolygon") searched = areaRing(bboxOf(ring.flat(2)));
  else if (area?.geometry?.type === "LineString") searched = areaRing(bboxOf(ring));
  if (!searched) return;
  setFilters({ area: searched, areaLabel: a.name });
  location.hash = "#/map";
}

// --- the commander's patrol and response figures -----------------------------------------

let figures = null;
let figGen = 0;
let figChart = null;
let aorsLoaded = false;

// loadAors fills the AOR picker with the areas of kind "aor" the user may see.
async function loadAors() {
  if (aorsLoaded) return;
  try {
    const r = await optional("/api/v1/areas?kind=aor");
    const sel = $("#figures-aor");
    const keep = sel.value;
    const areas = (r?.areas || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    replace(sel, h("option", { value: "" }, t("figures.noAor")), areas.map((a) => h("option", { value: a.id }, a.name)));
    sel.value = areas.some((a) => String(a.id) === keep) ? keep : "";
    aorsLoaded = true;
  } catch {
    /* the figures come without coverage */
  }
}

function figuresParams() {
  const days = Number($("#figures-period").value) || 28;
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400000);
  const r = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
  return { from: r(from), to: r(to), aor: $("#figures-aor").value };
}

async function loadFigures() {
  const g = ++figGen;
  const status = $("#figures-status");
  status.textContent = t("common.loading");
  status.classList.remove("error");
  const params = figuresParams();
  const exp = $("#figures-export");
  exp.hidden = !can("export");
  exp.href = "/api/v1/patrols/figures" + query({ ...params, format: "csv" });
  let data;
  try {
    [data] = await Promise.all([optional("/api/v1/patrols/figures" + query(params)), loadChartJS()]);
  } catch (e) {
    if (g !== figGen) return;
    status.textContent = describe(e);
    status.classList.add("error");
    return;
  }
  if (g !== figGen) return;
  if (data === null) {
    $("#ops-figures").hidden = true;
    return;
  }
  status.textContent = "";
  figures = data;
  renderFigures();
}

function duration(sec) {
  if (!sec) return "–";
  const m = Math.round(sec / 60);
  return m < 60 ? t("unit.min", { n: m }) : t("unit.hmin", { h: Math.floor(m / 60), m: String(m % 60).padStart(2, "0") });
}

function share(x) {
  return x == null ? "–" : formatNumber(Math.round(x * 1000) / 10) + " %";
}

function renderFigures() {
  const f = figures;
  $("#fig-planned").textContent = formatNumber(f.planned || 0);
  $("#fig-completed").textContent = formatNumber(f.completed || 0);
  $("#fig-women").textContent = t("figures.womenValue", { count: formatNumber(f.with_women || 0), share: share(f.women_share || 0) });
  $("#fig-women").title = t("figures.womenTitle");
  $("#fig-response").textContent = duration(f.median_response_seconds);
  $("#fig-response").title = t("figures.tasksArrived", { count: f.tasks_arrived || 0 });
  $("#fig-from-report").textContent = duration(f.median_from_report_seconds);
  const aor = $("#figures-aor").value;
  $("#fig-coverage7").textContent = aor ? share(f.coverage_7d) : "–";
  $("#fig-coverage30").textContent = aor ? share(f.coverage_30d) : "–";
  for (const id of ["#fig-coverage7", "#fig-coverage30"]) $(id).title = aor ? "" : t("figures.pickAor");

  const rows = f.by_unit_week || [];
  const units = [...new Set(rows.map((r) => r.unit))].sort();
  const sum = (u, k) => rows.filter((r) => r.unit === u).reduce((n, r) => n + (r[k] || 0), 0);
  const box = $('[data-table-for="chart-patrols-unit"]');
  if (!rows.length) replace(box, h("p", { class: "muted" }, t("figures.noPatrols")));
  else {
    const head = [t("figures.week"), t("figures.unit"), t("figures.plannedShort"), t("figures.completedShort"), t("figures.abortedShort"), t("figures.withWomenShort")];
    replace(box, h("div", { class: "grid-scroll" }, h("table", { class: "data", id: "figures-table" },
      h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, h("th", { scope: "row" }, r.week), h("td", {}, r.unit),
        [r.planned, r.completed, r.aborted, r.with_women].map((n) => h("td", { class: "num" }, formatNumber(n || 0)))))))));
  }
  figChart?.destroy();
  figChart = null;
  const canvas = $("#chart-patrols-unit");
  const Chart = window.Chart;
  if (!Chart || !units.length) {
    canvas.hidden = true;
    return;
  }
  canvas.hidden = false;
  canvas.setAttribute("aria-label", t("figures.chartAria", { planned: f.planned || 0, completed: f.completed || 0, units: units.length }));
  const fg = cssVar("--fg") || "#e6edf3";
  const grid = cssVar("--grid") || "rgba(128,128,128,.25)";
  const font = { family: getComputedStyle(document.body).fontFamily, size: Math.round(parseFloat(getComputedStyle(document.body).fontSize) * 0.85) };
  const axis = { ticks: { color: fg, font, precision: 0 }, grid: { color: grid } };
  figChart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: units,
      datasets: [
        { label: t("figures.plannedShort"), data: units.map((u) => sum(u, "planned")), backgroundColor: cssVar("--accent") || "#5aa2ea" },
        { label: t("figures.completedShort"), data: units.map((u) => sum(u, "completed")), backgroundColor: cssVar("--ok") || "#46a758" },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false, locale: lang(),
      plugins: { legend: { labels: { color: fg, font, boxWidth: 14 } }, tooltip: { bodyFont: font, titleFont: font } },
      scales: { x: axis, y: axis },
    },
  });
}
