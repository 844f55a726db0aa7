// The patrol planner, in the side panel beside the map: the weekly plan (patrols
// by day with status, unit, type, composition and risk), its filters and
// exports; a patrol's detail with the risk view and the workflow buttons its
// reader may use; and the form to plan or change a patrol, its route drawn on
// the map or imported from a GPX, KML or TAK route file.

import { t, formatDate, formatTime, formatDateTime, formatNumber, onLangChange } from "./i18n.js";
import { api, query, describe, fieldMessage, ApiError } from "./api.js";
import { $, h, replace, announce, toast } from "./dom.js";
import { state, on, can, username, clearanceLevels, classificationLabel, componentLabel } from "./state.js";
import { askText } from "./dialogs.js";
import {
  ops, loadUnits, PatrolTypes, PatrolStatuses, patrolActions, mayPlan, mayEditPatrol, patrolTypeLabel, patrolStatusLabel,
  toLocalInput, fromLocalInput, iso, weekStart, addDays, isoWeek, parseISOWeek, km,
} from "./ops.js";
import { renderRisk, riskBadge, lineOf, showRouteOnMap, clearRouteOnMap } from "./risk.js";

let hooks = { showPanel: () => {}, drawLine: async () => null };
let visible = false;
let mode = "plan"; // plan | detail | form
let week = weekStart();
const filter = { status: "", unit: "" };
let plan = []; // the week's patrols as listed
let planGen = 0;
let detail = null; // the patrol shown
let detailGen = 0;
// The form's route and its assessment, kept apart from the inputs.
let draft = null; // {id, version, route: [[lon, lat], …] | null, risk, riskGen}

export function initPatrols(h0) {
  hooks = { ...hooks, ...h0 };
  onLangChange(() => {
    if (!visible) return;
    if (mode === "plan") renderPlan();
    else if (mode === "detail" && detail) renderDetail(detail);
  });
  on("ops", (ev) => {
    if (!visible || !ev?.patrols?.length) return;
    // A patrol message carries every change: keep the plan and the detail current.
    let changed = false;
    for (const p of ev.patrols) {
      const i = plan.findIndex((x) => x.id === p.id);
      if (i >= 0 && plan[i].version < p.version) {
        plan[i] = p;
        changed = true;
      } else if (i < 0 && inWeek(p)) {
        plan.push(p);
        changed = true;
      }
      if (mode === "detail" && detail?.id === p.id && detail.version < p.version) renderDetail(p, true);
    }
    if (changed && mode === "plan") renderPlan();
  });
  on("me", () => visible && mode === "plan" && renderPlan());
}

export function resetPatrols() {
  visible = false;
  mode = "plan";
  plan = [];
  detail = null;
  draft = null;
  week = weekStart();
  filter.status = filter.unit = "";
  replace($("#patrols-body"));
}

// showPatrols is called when the view opens or closes.
export function showPatrols(on) {
  visible = on;
  if (!on) clearRouteOnMap();
}

function inWeek(p) {
  const s = Date.parse(p.planned_start), e = Date.parse(p.planned_end);
  return e > week.getTime() && s < addDays(week, 7).getTime() && (!filter.status || p.status === filter.status) && (!filter.unit || p.units?.includes(filter.unit));
}

function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

// --- the weekly plan -------------------------------------------------------------------

export async function openPlan() {
  mode = "plan";
  clearRouteOnMap();
  detail = null;
  renderPlan();
  loadUnits().then(() => visible && mode === "plan" && renderFilters()).catch(() => {});
  await loadPlan();
}

function planParams() {
  return { from: iso(week), to: iso(addDays(week, 7)), status: filter.status, unit: filter.unit };
}

async function loadPlan() {
  const g = ++planGen;
  const status = $("#patrol-plan-status");
  if (status) status.textContent = t("common.loading");
  try {
    const r = await api("/api/v1/patrols" + query({ ...planParams(), limit: 1000 }));
    if (g !== planGen) return;
    plan = r?.patrols || [];
    if (mode === "plan") renderPlan();
  } catch (e) {
    if (g !== planGen) return;
    const s = $("#patrol-plan-status");
    if (s) {
      s.textContent = describe(e);
      s.classList.add("error");
    }
  }
}

function setWeek(d) {
  week = weekStart(d);
  renderPlan();
  loadPlan();
}

function renderFilters() {
  const box = $("#patrol-filters");
  if (!box) return;
  const units = ops.units || [];
  const statusSel = h("select", { id: "patrol-filter-status", name: "status", onchange: (ev) => { filter.status = ev.target.value; renderPlan(); loadPlan(); } },
    h("option", { value: "" }, t("patrol.allStatuses")),
    PatrolStatuses.map((s) => h("option", { value: s, selected: filter.status === s }, patrolStatusLabel(s))));
  const unitSel = h("select", { id: "patrol-filter-unit", name: "unit", onchange: (ev) => { filter.unit = ev.target.value; renderPlan(); loadPlan(); } },
    h("option", { value: "" }, t("patrol.allUnits")),
    units.map((u) => h("option", { value: u.code, selected: filter.unit === u.code }, u.code)));
  if (filter.unit && !units.some((u) => u.code === filter.unit)) unitSel.append(h("option", { value: filter.unit, selected: true }, filter.unit));
  replace(box,
    h("label", { class: "field" }, h("span", {}, t("patrol.status")), statusSel),
    h("label", { class: "field" }, h("span", {}, t("patrol.unit")), unitSel));
}

function exportLinks() {
  if (!can("export")) return null;
  const qs = query(planParams());
  return h("div", { class: "actions patrol-exports", role: "group", "aria-label": t("patrol.export") },
    [["csv", "CSV"], ["geojson", "GeoJSON"], ["kml", "KML"]].map(([f, name]) =>
      h("a", { class: "button secondary", id: `patrol-export-${f}`, href: `/api/v1/patrols/export${qs}&format=${f}`, download: "" }, t("patrol.exportAs", { format: name }))));
}

function renderPlan() {
  const body = $("#patrols-body");
  if (!body || mode !== "plan") return;
  const end = addDays(week, 6);
  const weekInput = h("input", { type: "week", id: "patrol-week", value: isoWeek(week), "aria-label": t("patrol.weekPick"),
    onchange: (ev) => { const d = parseISOWeek(ev.target.value); if (d) setWeek(d); } });
  const days = [];
  for (let i = 0; i < 7; i++) {
    const d0 = addDays(week, i), d1 = addDays(week, i + 1);
    const items = plan
      .filter((p) => { const s = Date.parse(p.planned_start); return s >= d0.getTime() && s < d1.getTime(); })
      .sort((a, b) => Date.parse(a.planned_start) - Date.parse(b.planned_start) || a.id - b.id);
    days.push({ d0, items });
  }
  // Patrols that started before the week but run into it are listed first.
  const earlier = plan.filter((p) => Date.parse(p.planned_start) < week.getTime()).sort((a, b) => Date.parse(a.planned_start) - Date.parse(b.planned_start));
  replace(
    body,
    h("div", { class: "section-head" },
      h("h2", { id: "patrols-heading" }, t("patrol.planTitle")),
      mayPlan() ? h("button", { type: "button", id: "new-patrol", class: "primary", onclick: () => go("#/patrols/new") }, h("span", { "aria-hidden": "true" }, "+"), " ", t("patrol.new")) : null),
    h("div", { class: "week-picker", role: "group", "aria-label": t("patrol.weekPick") },
      h("button", { type: "button", class: "secondary", id: "patrol-week-prev", "aria-label": t("patrol.weekPrev"), title: t("patrol.weekPrev"), onclick: () => setWeek(addDays(week, -7)) }, h("span", { "aria-hidden": "true" }, "‹")),
      weekInput,
      h("button", { type: "button", class: "secondary", id: "patrol-week-next", "aria-label": t("patrol.weekNext"), title: t("patrol.weekNext"), onclick: () => setWeek(addDays(week, 7)) }, h("span", { "aria-hidden": "true" }, "›")),
      h("button", { type: "button", class: "link", onclick: () => setWeek(new Date()) }, t("patrol.thisWeek"))),
    h("p", { class: "muted small" }, t("patrol.weekRange", { week: isoWeek(week), from: formatDate(week), to: formatDate(end) })),
    h("div", { id: "patrol-filters", class: "filters" }),
    exportLinks(),
    h("p", { id: "patrol-plan-status", class: "muted", "aria-live": "polite" }, t("patrol.count", { count: plan.length })),
    earlier.length ? dayBlock(t("patrol.fromBefore"), earlier) : null,
    days.map(({ d0, items }) => dayBlock(d0.toLocaleDateString(document.documentElement.lang || "en", { weekday: "long", day: "numeric", month: "short" }), items)),
  );
  renderFilters();
}

function dayBlock(label, items) {
  return h("section", { class: "plan-day" },
    h("h3", { class: "plan-day-title" }, label, " ", h("span", { class: "muted small" }, "(" + formatNumber(items.length) + ")")),
    items.length ? h("ul", { class: "patrol-list" }, items.map(patrolItem)) : h("p", { class: "muted small empty" }, t("patrol.noneThisDay")));
}

function patrolItem(p) {
  return h("li", { dataset: { id: p.id, status: p.status } },
    h("a", { class: "patrol-row", href: `#/patrols/${p.id}` },
      h("span", { class: "row-main" },
        h("span", { class: "row-title" }, p.name),
        h("span", { class: "row-meta muted" },
          [patrolTypeLabel(p.type), (p.units || []).join(", "), `${formatTime(p.planned_start)}–${formatTime(p.planned_end)}`].filter(Boolean).join(" · ")),
        h("span", { class: "row-meta" },
          h("span", { class: "women", title: t("patrol.womenTitle") }, t("patrol.womenOf", { women: p.women, strength: p.strength })))),
      h("span", { class: "row-side" },
        h("span", { class: `status pstatus-${p.status}` }, patrolStatusLabel(p.status)),
        p.risk ? riskBadge(p.risk.level) : null)));
}

// --- one patrol --------------------------------------------------------------------------

export async function openPatrol(id) {
  mode = "detail";
  const body = $("#patrols-body");
  if (!detail || detail.id !== id) replace(body, h("p", { class: "muted" }, t("common.loading")));
  const g = ++detailGen;
  try {
    const p = await api(`/api/v1/patrols/${id}`);
    if (g !== detailGen || mode !== "detail") return;
    renderDetail(p);
    $("#patrol-title")?.focus();
    const line = lineOf(p.route);
    showRouteOnMap(line, p.risk);
  } catch (e) {
    if (g !== detailGen) return;
    detail = null;
    replace(body, backToPlan(), h("p", { class: "error", role: "alert" }, e.kind === "notfound" ? t("patrol.notFound") : describe(e)));
  }
}

function backToPlan() {
  return h("div", { class: "panel-head" }, h("a", { class: "back", href: "#/patrols" }, h("span", { "aria-hidden": "true" }, "‹"), " ", t("patrol.backToPlan")));
}

function markingText(p) {
  const cls = classificationLabel(p.classification);
  if (!p.classification || p.classification === "UNCLASSIFIED") return cls;
  return t("marking.component", { cls, component: componentLabel(p.component) });
}

function dl(rows) {
  return h("dl", { class: "facts" }, rows.filter((r) => r && r[1] !== "" && r[1] != null).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function renderDetail(p, updated = false) {
  const prev = detail;
  detail = p;
  const body = $("#patrols-body");
  const cls = String(p.classification || "UNCLASSIFIED").replace(/ /g, "_").toLowerCase();
  const actions = patrolActions(p);
  const line = lineOf(p.route);
  replace(
    body,
    backToPlan(),
    h("p", { class: `marking-banner m-${cls}` }, markingText(p)),
    updated && prev?.id === p.id ? h("p", { class: "notice", role: "status" }, t("patrol.updatedLive", { status: patrolStatusLabel(p.status) })) : null,
    h("h3", { id: "patrol-title", tabindex: "-1" }, p.name),
    h("p", { class: "detail-tags" },
      h("span", { class: `status pstatus-${p.status}`, id: "patrol-status", dataset: { status: p.status } }, patrolStatusLabel(p.status)),
      " ", h("span", {}, patrolTypeLabel(p.type)),
      " ", p.risk ? riskBadge(p.risk.level) : null,
      " ", h("span", { class: "muted" }, t("patrol.idVersion", { id: p.id, version: p.version }))),
    h("div", { class: "actions detail-actions", id: "patrol-actions" },
      line ? h("button", { type: "button", class: "secondary", onclick: () => showRouteOnMap(line, p.risk) }, t("patrol.showOnMap")) : null,
      mayEditPatrol(p) ? h("button", { type: "button", id: "edit-patrol", class: "secondary", onclick: () => go(`#/patrols/${p.id}/edit`) }, t("patrol.edit")) : null,
      actions.map((a) => h("button", { type: "button", class: a === "reject" || a === "abort" ? "danger" : "primary", dataset: { action: a }, onclick: (ev) => workflow(ev.currentTarget, p, a) }, t("patrol.action." + a)))),
    h("p", { id: "patrol-error", class: "error", role: "alert" }),
    p.status === "submitted" && username() === p.planned_by && can("patrol.approve") ? h("p", { class: "muted small" }, t("patrol.ownPlan")) : null,
    dl([
      [t("patrol.units"), (p.units || []).join(", ")],
      p.track_uids?.length ? [t("patrol.tracks"), p.track_uids.join(", ")] : null,
      [t("patrol.composition"), t("patrol.womenOf", { women: p.women, strength: p.strength })],
      [t("patrol.window"), `${formatDateTime(p.planned_start)} – ${formatDateTime(p.planned_end)}`],
      [t("patrol.checkIn"), t("unit.min", { n: p.check_in_minutes })],
      [t("patrol.deviation"), km(p.deviation_meters || 1000)],
      line ? [t("patrol.route"), t("patrol.routeSummary", { points: line.length, km: formatNumber(Math.round((p.risk?.length_km || 0) * 10) / 10) })] : null,
      [t("patrol.plannedBy"), p.planned_by],
      p.approved_by ? [t("patrol.approvedBy"), `${p.approved_by}, ${formatDateTime(p.approved_at)}`] : null,
      p.started_at ? [t("patrol.startedAt"), formatDateTime(p.started_at)] : null,
      p.ended_at ? [t("patrol.endedAt"), formatDateTime(p.ended_at)] : null,
      p.reject_reason ? [t("patrol.rejectReason"), p.reject_reason] : null,
      p.abort_reason ? [t("patrol.abortReason"), p.abort_reason] : null,
    ]),
    p.purpose ? h("section", { class: "detail-block" }, h("h4", {}, t("patrol.purpose")), h("p", { class: "narrative" }, p.purpose)) : null,
    p.status === "approved" || p.status === "underway" || p.status === "completed" || p.status === "aborted"
      ? h("p", { class: "muted small" }, t("patrol.riskStored"))
      : h("p", { class: "muted small" }, t("patrol.riskCurrent")),
    renderRisk(p.risk),
  );
}

async function workflow(btn, p, action) {
  let reason = "";
  if (action === "reject" || action === "abort") {
    reason = await askText({ title: t(`patrol.${action}Title`, { name: p.name }), label: t("patrol.reason"), ok: t("patrol.action." + action), hint: t(`patrol.${action}Hint`), danger: true });
    if (reason === null) return;
  }
  const all = $("#patrol-actions").querySelectorAll("button");
  for (const b of all) b.disabled = true;
  $("#patrol-error").textContent = "";
  try {
    const next = await api(`/api/v1/patrols/${p.id}/actions/${action}`, { method: "POST", body: reason ? { reason } : {}, ifMatch: p.version });
    renderDetail(next);
    showRouteOnMap(lineOf(next.route), next.risk, false);
    const msg = t("patrol.done." + action, { name: next.name });
    announce(msg);
    toast(msg);
  } catch (e) {
    $("#patrol-error").textContent = patrolError(e, t("patrol.forbid." + action));
    if (e.kind === "stale" || e.kind === "conflict") {
      try {
        renderDetail(await api(`/api/v1/patrols/${p.id}`));
        $("#patrol-error").textContent = patrolError(e, t("patrol.forbid." + action));
      } catch {
        /* keep what is shown */
      }
    }
  } finally {
    for (const b of $("#patrol-actions")?.querySelectorAll("button") || []) b.disabled = false;
  }
}

// patrolError words the server's refusal of a workflow step.
function patrolError(e, what) {
  const d = String(e?.problem?.detail || "");
  if (/approved by someone other than its planner/i.test(d)) return t("patrol.err.ownApproval");
  if (/cannot (\w+) a patrol that is (\w+)/i.test(d)) {
    const m = d.match(/cannot (\w+) a patrol that is (\w+)/i);
    return t("patrol.err.wrongStatus", { action: t("patrol.action." + m[1], { fallback: m[1] }), status: patrolStatusLabel(m[2]) });
  }
  if (/needs a reason/i.test(d)) return t("patrol.err.reason");
  return describe(e, what);
}

// --- the form ------------------------------------------------------------------------------

export async function openPatrolForm(id) {
  mode = "form";
  const body = $("#patrols-body");
  replace(body, h("p", { class: "muted" }, t("common.loading")));
  let p = null;
  try {
    await loadUnits();
    if (id) p = await api(`/api/v1/patrols/${id}`);
  } catch (e) {
    replace(body, backToPlan(), h("p", { class: "error", role: "alert" }, describe(e)));
    return;
  }
  if (mode !== "form") return;
  if (p && !mayEditPatrol(p)) {
    replace(body, backToPlan(), h("p", { class: "error", role: "alert" }, t("patrol.cannotEdit")));
    return;
  }
  if (!p && !mayPlan()) {
    replace(body, backToPlan(), h("p", { class: "error", role: "alert" }, t("error.forbiddenTo", { what: t("patrol.forbid.plan") })));
    return;
  }
  draft = { id: p?.id || 0, version: p?.version || 0, route: lineOf(p?.route) ? lineOf(p.route).slice() : null, risk: p?.risk || null, riskGen: 0, routeName: "" };
  renderForm(p);
  $("#patrol-form-title")?.focus();
  if (draft.route) showRouteOnMap(draft.route, draft.risk);
  else clearRouteOnMap();
}

function field(name, label, control, hint) {
  const id = "pf-" + name;
  control.id = control.id || id;
  control.setAttribute("aria-describedby", `${id}-error${hint ? " " + id + "-hint" : ""}`);
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { for: control.id }, label),
    control,
    hint ? h("p", { class: "hint muted", id: `${id}-hint` }, hint) : null,
    h("p", { class: "field-error", id: `${id}-error` }));
}

function renderForm(p) {
  const body = $("#patrols-body");
  const now = new Date();
  const start = p ? new Date(p.planned_start) : new Date(Math.ceil(now.getTime() / 3600000) * 3600000 + 3600000);
  const end = p ? new Date(p.planned_end) : new Date(start.getTime() + 4 * 3600000);
  const units = ops.units || [];
  const chosen = new Set(p?.units || []);
  const levels = clearanceLevels();
  const cls = p?.classification || "UNCLASSIFIED";

  const num = (name, value, min, max) => h("input", { type: "number", name, inputmode: "numeric", min, max, step: 1, value: value ?? "" });
  const unitBox = h("fieldset", { class: "unit-picker", id: "pf-units", "aria-describedby": "pf-units-error" },
    h("legend", {}, t("patrol.units"), " ", h("span", { class: "req", "aria-hidden": "true" }, "*")),
    units.length
      ? h("div", { class: "unit-options" }, units.map((u) =>
          h("label", { class: "check" }, h("input", { type: "checkbox", name: "units", value: u.code, checked: chosen.has(u.code) }),
            h("span", {}, h("strong", {}, u.code), " ", h("span", { class: "muted small" }, u.name)))))
      : h("p", { class: "muted" }, t("patrol.noUnits")),
    h("p", { class: "field-error", id: "pf-units-error" }));
  const fileInput = h("input", { type: "file", id: "pf-route-file", name: "route_file", accept: ".gpx,.kml,.xml,application/gpx+xml,application/vnd.google-earth.kml+xml", class: "visually-hidden", onchange: (ev) => importRoute(ev.target) });

  const form = h(
    "form",
    { id: "patrol-form", class: "incident-form patrol-form", novalidate: true, onsubmit: (ev) => { ev.preventDefault(); save(ev.submitter?.dataset.submit === "1"); } },
    backToPlan(),
    h("h3", { id: "patrol-form-title", tabindex: "-1" }, p ? t("patrol.editTitle", { name: p.name, version: p.version }) : t("patrol.newTitle")),
    p?.status === "submitted" ? h("p", { class: "notice" }, t("patrol.editSubmitted")) : null,
    p?.reject_reason ? h("p", { class: "notice" }, t("patrol.rejectedBecause", { reason: p.reject_reason })) : null,
    h("p", { id: "patrol-form-error", class: "error", role: "alert" }),
    h("fieldset", {},
      h("legend", {}, t("patrol.what")),
      h("div", { class: "wide" }, field("name", t("patrol.name"), h("input", { name: "name", maxlength: 200, required: true, value: p?.name || "", autocomplete: "off" }))),
      field("type", t("patrol.type"), h("select", { name: "type" }, PatrolTypes.map((x) => h("option", { value: x, selected: (p?.type || "mobile") === x }, patrolTypeLabel(x))))),
      field("classification", t("form.classification"), h("select", { name: "classification" }, levels.map((c) => h("option", { value: c, selected: c === cls }, classificationLabel(c))))),
      h("div", { class: "wide" }, field("purpose", t("patrol.purpose"), h("textarea", { name: "purpose", rows: 3, maxlength: 2000 }, p?.purpose || "")))),
    h("fieldset", {},
      h("legend", {}, t("patrol.who")),
      h("div", { class: "wide" }, unitBox),
      field("strength", t("patrol.strength"), num("strength", p?.strength ?? 12, 1, 2000)),
      field("women", t("patrol.women"), num("women", p?.women ?? 0, 0, 2000), t("patrol.womenHint")),
      h("div", { class: "wide" }, field("track_uids", t("patrol.tracksOptional"), h("input", { name: "track_uids", value: (p?.track_uids || []).join(", "), autocomplete: "off", spellcheck: "false" }), t("patrol.tracksHint")))),
    h("fieldset", {},
      h("legend", {}, t("patrol.when")),
      field("planned_start", t("patrol.start"), h("input", { type: "datetime-local", name: "planned_start", value: toLocalInput(start) })),
      field("planned_end", t("patrol.end"), h("input", { type: "datetime-local", name: "planned_end", value: toLocalInput(end) })),
      h("p", { class: "hint muted" }, t("form.localTime")),
      field("check_in_minutes", t("patrol.checkInLabel"), num("check_in_minutes", p?.check_in_minutes ?? 30, 1, 1440), t("patrol.checkInHint")),
      field("deviation_meters", t("patrol.deviationLabel"), num("deviation_meters", p?.deviation_meters || "", 50, 50000), t("patrol.deviationHint"))),
    h("fieldset", { class: "route-fieldset" },
      h("legend", {}, t("patrol.route"), " ", h("span", { class: "req", "aria-hidden": "true" }, "*")),
      h("div", { class: "actions wide" },
        h("button", { type: "button", id: "pf-draw-route", class: "secondary", onclick: () => drawRoute() }, t("patrol.drawRoute")),
        h("label", { class: "button secondary", for: "pf-route-file", id: "pf-import-label", tabindex: "0", role: "button",
          onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); fileInput.click(); } } }, t("patrol.importRoute")),
        fileInput,
        h("button", { type: "button", id: "pf-clear-route", class: "link", onclick: () => setRoute(null) }, t("patrol.clearRoute"))),
      h("p", { class: "hint muted wide" }, t("patrol.routeHint")),
      h("p", { id: "pf-route-summary", class: "wide", "aria-live": "polite" }),
      h("p", { class: "field-error wide", id: "pf-route-error" }),
      h("div", { id: "pf-risk", class: "wide" })),
    h("div", { class: "actions sticky" },
      h("button", { type: "submit", id: "patrol-save", class: "secondary", dataset: { submit: "0" } }, p ? t("patrol.save") : t("patrol.saveDraft")),
      !p || p.status === "draft" ? h("button", { type: "submit", id: "patrol-save-submit", class: "primary", dataset: { submit: "1" } }, t("patrol.saveSubmit")) : null,
      h("a", { class: "button secondary", href: p ? `#/patrols/${p.id}` : "#/patrols" }, t("common.cancel"))),
  );
  replace(body, form);
  routeSummary();
  renderDraftRisk();
  // A new window changes the risk (recency, night flying): assess again.
  for (const n of ["planned_start", "planned_end"]) form.elements[n].addEventListener("change", () => draft.route && assess());
}

function routeSummary() {
  const el = $("#pf-route-summary");
  if (!el) return;
  if (!draft.route) {
    el.textContent = t("patrol.noRoute");
    el.className = "wide muted";
    return;
  }
  el.className = "wide";
  el.textContent = t("patrol.routePoints", { points: draft.route.length, km: formatNumber(Math.round(lengthKm(draft.route) * 10) / 10) }) + (draft.routeName ? " · " + draft.routeName : "");
}

function lengthKm(line) {
  let d = 0;
  for (let i = 1; i < line.length; i++) {
    const [a, b] = [line[i - 1], line[i]];
    const r = Math.PI / 180;
    const x = (b[0] - a[0]) * r * Math.cos(((a[1] + b[1]) / 2) * r), y = (b[1] - a[1]) * r;
    d += Math.hypot(x, y) * 6371;
  }
  return d;
}

function setRoute(line, name = "") {
  draft.route = line && line.length >= 2 ? line : null;
  draft.routeName = name;
  draft.risk = null;
  $("#pf-route-error").textContent = "";
  routeSummary();
  renderDraftRisk();
  if (draft.route) {
    showRouteOnMap(draft.route, null);
    assess();
  } else clearRouteOnMap();
}

async function drawRoute() {
  hooks.showPanel(false);
  announce(t("patrol.drawAnnounce"));
  let line = null;
  try {
    line = await state.map?.drawLine?.(draft.route || []);
  } finally {
    hooks.showPanel(true);
  }
  if (line) setRoute(line);
  else if (draft.route) showRouteOnMap(draft.route, draft.risk, false);
  $("#pf-draw-route")?.focus();
}

async function importRoute(input) {
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  const err = $("#pf-route-error");
  err.textContent = "";
  $("#pf-route-summary").textContent = t("patrol.importing", { file: file.name });
  try {
    // GPX, KML and CoT are XML: sent as the text they are, not as JSON.
    const text = await file.text();
    const r = await api("/api/v1/routes/import", { method: "POST", body: text, headers: { "Content-Type": file.type || "application/xml" } });
    const line = lineOf(r?.route);
    if (!line) throw new ApiError("invalid", 400, { detail: "no route" });
    setRoute(line, r.name || file.name);
    announce(t("patrol.imported", { points: line.length }));
  } catch (e) {
    routeSummary();
    err.textContent = e.kind === "invalid" ? t("patrol.importFailed", { detail: e.problem?.detail || "" }) : describe(e);
  }
}

async function assess() {
  const g = ++draft.riskGen;
  const f = $("#patrol-form");
  const box = $("#pf-risk");
  if (!box || !draft.route) return;
  replace(box, h("p", { class: "muted" }, t("patrol.assessing")));
  const start = fromLocalInput(f?.elements.planned_start.value);
  const end = fromLocalInput(f?.elements.planned_end.value);
  try {
    const body = { route: { type: "LineString", coordinates: draft.route } };
    if (start) body.planned_start = iso(start);
    if (start && end && end > start) body.planned_end = iso(end);
    const r = await api("/api/v1/routes/risk", { method: "POST", body });
    if (g !== draft.riskGen || mode !== "form") return;
    draft.risk = r;
    renderDraftRisk();
    showRouteOnMap(draft.route, r, false);
  } catch (e) {
    if (g !== draft.riskGen) return;
    replace(box, h("p", { class: "error" }, t("patrol.assessFailed", { reason: describe(e) })));
  }
}

function renderDraftRisk() {
  const box = $("#pf-risk");
  if (!box) return;
  if (!draft.route) replace(box);
  else if (draft.risk) replace(box, renderRisk(draft.risk, { compact: true }));
}

function collect() {
  const f = $("#patrol-form");
  const v = (n) => f.elements[n].value;
  const int = (n) => (v(n).trim() === "" ? 0 : Number(v(n)));
  const start = fromLocalInput(v("planned_start"));
  const end = fromLocalInput(v("planned_end"));
  const p = {
    name: v("name").trim(),
    type: v("type"),
    units: [...f.querySelectorAll("input[name=units]:checked")].map((x) => x.value),
    track_uids: v("track_uids").split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean),
    strength: int("strength"),
    women: int("women"),
    planned_start: start ? iso(start) : "",
    planned_end: end ? iso(end) : "",
    check_in_minutes: int("check_in_minutes"),
    purpose: v("purpose").trim(),
    classification: v("classification"),
  };
  if (int("deviation_meters")) p.deviation_meters = int("deviation_meters");
  if (draft.route) p.route = { type: "LineString", coordinates: draft.route };
  if (!p.track_uids.length) delete p.track_uids;
  return p;
}

// check finds what the server would refuse, in the user's words, before sending.
function check(p) {
  const errs = [];
  if (!p.name) errs.push(["name", t("field.required")]);
  if (!p.units.length) errs.push(["units", t("patrol.err.noUnit")]);
  if (!(p.strength >= 1)) errs.push(["strength", t("patrol.err.strength")]);
  if (p.women < 0 || p.women > p.strength) errs.push(["women", t("patrol.err.women", { strength: p.strength || 0 })]);
  if (!p.planned_start) errs.push(["planned_start", t("field.required")]);
  if (!p.planned_end) errs.push(["planned_end", t("field.required")]);
  else if (p.planned_start && Date.parse(p.planned_end) <= Date.parse(p.planned_start)) errs.push(["planned_end", t("field.endBeforeStart")]);
  if (!(p.check_in_minutes >= 1 && p.check_in_minutes <= 1440)) errs.push(["check_in_minutes", t("patrol.err.checkIn")]);
  if (!p.route) errs.push(["route", t("patrol.err.noRoute")]);
  return errs;
}

function clearErrors() {
  for (const el of document.querySelectorAll("#patrol-form .field-error")) el.textContent = "";
  for (const el of document.querySelectorAll("#patrol-form [aria-invalid]")) el.removeAttribute("aria-invalid");
  $("#patrol-form-error").textContent = "";
}

// showFieldError puts a message next to the field the server (or check) named:
// "units[2]" is the units picker, "route.coordinates[3]" the route.
function showFieldError(field, message) {
  const base = String(field || "").split(/[.[]/)[0];
  const el = $(`#pf-${base}-error`);
  if (!el) return false;
  el.textContent = message;
  const control = $(`#patrol-form [name="${base}"]`) || $(`#pf-${base}`);
  control?.setAttribute("aria-invalid", "true");
  return true;
}

// serverFieldMessage words a validation detail of the patrol model.
function serverFieldMessage(field, detail) {
  const d = String(detail || "");
  let m;
  if ((m = d.match(/unknown unit "([^"]*)"/i))) return t("patrol.err.unknownUnit", { unit: m[1] });
  if ((m = d.match(/unit "([^"]*)" is disabled/i))) return t("patrol.err.disabledUnit", { unit: m[1] });
  if ((m = d.match(/unit "([^"]*)" is listed twice/i))) return t("patrol.err.twice", { unit: m[1] });
  if (/assign at least one unit/i.test(d)) return t("patrol.err.noUnit");
  if (/must be after planned_start/i.test(d)) return t("field.endBeforeStart");
  if (/at most 14 days/i.test(d)) return t("patrol.err.tooLong");
  if (/between 1 and 1440/i.test(d)) return t("patrol.err.checkIn");
  if (/between 50 and 50000/i.test(d)) return t("patrol.err.deviation");
  if (/between 1 and 2000 persons/i.test(d)) return t("patrol.err.strength");
  if ((m = d.match(/between 0 and the strength \((\d+)\)/i))) return t("patrol.err.women", { strength: Number(m[1]) });
  if (/at least two points|LineString/i.test(d) && String(field).startsWith("route")) return t("patrol.err.noRoute");
  if (/self-intersect|crosses itself/i.test(d)) return t("patrol.err.selfIntersect");
  if (String(field).startsWith("route")) return t("patrol.err.route", { detail: d });
  return fieldMessage(d);
}

async function save(submit) {
  const f = $("#patrol-form");
  clearErrors();
  const p = collect();
  const errs = check(p);
  if (errs.length) {
    for (const [fld, msg] of errs) showFieldError(fld, msg);
    $("#patrol-form-error").textContent = t("form.fixErrors", { count: errs.length });
    const first = f.querySelector("[aria-invalid=true]") || f.querySelector(`#pf-${errs[0][0]}`);
    first?.focus();
    return;
  }
  const buttons = f.querySelectorAll(".actions.sticky button");
  for (const b of buttons) b.disabled = true;
  try {
    let saved;
    if (draft.id) saved = await api(`/api/v1/patrols/${draft.id}`, { method: "PUT", body: p, ifMatch: draft.version });
    else saved = await api("/api/v1/patrols", { method: "POST", body: p });
    draft.id = saved.id;
    draft.version = saved.version;
    if (submit && saved.status === "draft") saved = await api(`/api/v1/patrols/${saved.id}/actions/submit`, { method: "POST", body: {}, ifMatch: saved.version });
    const msg = t(submit ? "patrol.savedSubmitted" : "patrol.saved", { name: saved.name });
    toast(msg);
    announce(msg);
    draft = null;
    detail = saved;
    go(`#/patrols/${saved.id}`);
  } catch (e) {
    const fld = e.field || "";
    if (e.kind === "invalid" && fld && showFieldError(fld, serverFieldMessage(fld, e.problem?.detail))) {
      $("#patrol-form-error").textContent = t("form.fixErrors", { count: 1 });
      (f.querySelector("[aria-invalid=true]") || $("#patrol-form-error")).focus?.();
    } else {
      $("#patrol-form-error").textContent = e.kind === "forbidden" ? describe(e, t("patrol.forbid.plan")) : describe(e);
    }
  } finally {
    for (const b of f.querySelectorAll(".actions.sticky button")) b.disabled = false;
  }
}

// patrolMode says what the panel shows: plan, detail or form.
export function patrolMode() {
  return mode;
}
