// The incidents panel: the filtered list (paged from the API, newest first, kept
// current by the stream), the detail of one report with its revision history and
// workflow buttons, and the report form (incident-form.js). It also feeds the map
// the incidents that match the filters.

import { t, formatDateTime, formatUTC, formatAgo, formatNumber, onLangChange } from "./i18n.js";
import { api, optional, query, describe } from "./api.js";
import { $, h, replace, debounce, announce, toast } from "./dom.js";
import {
  state, can, username, filters, on, emit, filterParams, filtersActive, matchesFilters,
  categoryLabel, subcategoryLabel, statusLabel, classificationLabel, componentLabel, categoryColour,
} from "./state.js";
import { mountFilters } from "./filters.js";
import { initForm, openForm, closeForm, formOpen, formDirty, formTarget, liveUpdate } from "./incident-form.js";
import { askText } from "./dialogs.js";
import { formatLatLon } from "./coords.js";

const pageSize = 100;
const autoLoadLimit = 500;

const list = { items: [], byId: new Map(), cursor: "", done: false, loading: false, gen: 0, total: null, error: "" };
let mode = "list"; // list | detail | form
let detail = null; // the incident shown in the detail view
let detailGen = 0;
let hooks = { pickPoint: async () => null, drawPolygon: async () => null, showPanel() {} };
let observer = null;

export function initIncidents(h0) {
  hooks = { ...hooks, ...h0 };
  mountFilters($("#incident-filters"), { drawArea, areaButtonId: "filter-area" });
  initForm({
    onSaved: (inc) => {
      upsertLocal([inc]);
      state.map?.upsertIncidents?.([inc]);
      mode = "detail";
      go(`#/incidents/${inc.id}`);
    },
    onClose: () => cancelForm(),
    pickPoint: () => hooks.pickPoint(),
  });
  $("#new-incident").addEventListener("click", () => go("#/incidents/new"));
  $("#incident-more").addEventListener("click", () => loadPage());
  $("#incident-list").addEventListener("click", (ev) => {
    const li = ev.target.closest("li[data-id]");
    if (li) go(`#/incidents/${li.dataset.id}`);
  });
  $("#incident-detail").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !ev.defaultPrevented) {
      ev.preventDefault();
      closeDetail();
    }
  });
  observer = new IntersectionObserver((entries) => {
    // Scrolling loads more by itself up to a point; past it the button does, so
    // that a long scroll through 20,000 reports does not build 20,000 rows unasked.
    if (entries.some((e) => e.isIntersecting) && !list.loading && !list.done && mode === "list" && list.items.length < autoLoadLimit) loadPage();
  }, { root: $("#side-panel"), rootMargin: "200px" });
  observer.observe($("#incident-more"));

  const reload = debounce(() => {
    if (!state.me) return; // signed out meanwhile (clearing the filters is part of it)
    reloadMap(); // first: the list's count waits for it (see loadTotal)
    reloadList();
  }, 150);
  on("filters", reload);
  // Rights can change while signed in (the stream's credential check): the
  // buttons follow.
  on("me", () => {
    $("#new-incident").hidden = mode !== "list" || !can("incident.report");
    if (mode === "detail" && detail) renderDetail(detail);
  });
  onLangChange(() => {
    renderList();
    if (mode === "detail" && detail) renderDetail(detail);
  });
  // Relative times ("5 minutes ago") must stay true on a screen nobody touches.
  setInterval(() => {
    if (mode === "list" && !document.hidden) refreshTimes();
  }, 60000);
}

function go(hash) {
  if (location.hash === hash) emit("route");
  else location.hash = hash;
}

export function resetIncidents() {
  list.gen++;
  prefetched = null;
  liveSinceAsked = null;
  Object.assign(list, { items: [], byId: new Map(), cursor: "", done: false, loading: false, total: null, error: "" });
  detail = null;
  mode = "list";
  closeForm(true);
  $("#incident-detail").hidden = true;
  replace($("#incident-detail"));
  $("#incident-list-view").hidden = false;
  renderList();
}

// startIncidents runs once signed in (and after a resync, when events may have
// been missed): the list and the map's incidents are fetched afresh.
export function startIncidents() {
  $("#new-incident").hidden = mode !== "list" || !can("incident.report");
  reloadList();
}

// feedMap gives the map the incidents matching the filters, once it exists.
// It resolves once the map has them (or has given up on them).
export function feedMap() {
  const done = reloadMap();
  if (mode === "detail" && detail) state.map?.highlightIncident?.(detail.id);
  return done;
}

export function reloadAll() {
  reloadMap(); // first: the list's count waits for it (see loadTotal)
  reloadList();
  if (mode === "detail" && detail) refreshDetail(detail.id);
}

// --- list ----------------------------------------------------------------------

function reloadList() {
  list.gen++;
  Object.assign(list, { items: [], byId: new Map(), cursor: "", done: false, loading: false, total: null, error: "" });
  renderList();
  loadPage();
  loadTotal();
}

async function loadPage() {
  if (list.loading || list.done) return;
  const gen = list.gen;
  list.loading = true;
  list.error = "";
  renderStatus();
  try {
    const r = await api("/api/v1/incidents" + query({ ...filterParams(), cursor: list.cursor, limit: pageSize }));
    if (gen !== list.gen) return;
    const fresh = [];
    for (const inc of r.incidents || []) {
      if (!list.byId.has(inc.id)) {
        list.byId.set(inc.id, inc);
        list.items.push(inc);
        fresh.push(inc);
      }
    }
    list.cursor = r.next_cursor || "";
    list.done = !list.cursor;
    appendItems(fresh);
    if (!state.features.incidentsMap && list.items.length <= 5000) mapFromList();
  } catch (e) {
    if (gen !== list.gen) return;
    list.error = describe(e);
  } finally {
    if (gen === list.gen) {
      list.loading = false;
      renderStatus();
    }
  }
}

// loadTotal asks the stats endpoint how many incidents match, for "12 of 3,400".
async function loadTotal() {
  if (!state.features.stats) return;
  const gen = list.gen;
  try {
    // The count reads every matching incident on the server, as the map's answer
    // does: asked at the same time, the two share the server's CPU and the map's
    // picture waits for both; asked once the answer is in, it takes CPU from the
    // page drawing it. The count is a nicety; it waits for the first picture.
    await mapAnswered;
    await state.mapShown;
    if (gen !== list.gen) return;
    const s = await optional("/api/v1/incidents/stats" + query(filterParams()));
    if (s === null) {
      state.features.stats = false;
      return;
    }
    if (gen === list.gen) {
      list.total = s.total;
      renderStatus();
    }
  } catch {
    /* the count is a nicety */
  }
}

function sortKey(inc) {
  return [Date.parse(inc.occurred_start) || 0, inc.id];
}

function newerThan(a, b) {
  const [ta, ia] = sortKey(a);
  const [tb, ib] = sortKey(b);
  return ta > tb || (ta === tb && ia > ib);
}

function itemFor(inc) {
  const killed = (inc.casualties || []).filter((c) => c.kind === "killed").reduce((n, c) => n + (c.best || 0), 0);
  const injured = (inc.casualties || []).filter((c) => c.kind === "injured").reduce((n, c) => n + (c.best || 0), 0);
  const place = inc.place_name || [inc.admin2, inc.admin1].filter(Boolean).join(", ");
  const marked = inc.classification && inc.classification !== "UNCLASSIFIED";
  return h(
    "li",
    { dataset: { id: inc.id }, class: inc.id === detail?.id ? "current" : "" },
    h(
      "button",
      { type: "button", class: "incident-row" },
      h("span", { class: "cat-dot", "aria-hidden": "true", "data-colour": categoryColour(inc.category) }),
      h(
        "span",
        { class: "row-main" },
        h("span", { class: "row-title" }, inc.title),
        h(
          "span",
          { class: "row-meta muted" },
          h("time", { datetime: inc.occurred_start, title: formatDateTime(inc.occurred_start) }, formatAgo(inc.occurred_start)),
          " · ",
          categoryLabel(inc.category),
          place ? [" · ", place] : null,
        ),
      ),
      h(
        "span",
        { class: "row-side" },
        h("span", { class: `status status-${inc.status}` }, statusLabel(inc.status)),
        killed ? h("span", { class: "cas killed", title: t("incident.killedN", { count: killed }) }, t("incident.killedShort", { count: killed })) : null,
        injured ? h("span", { class: "cas injured", title: t("incident.injuredN", { count: injured }) }, t("incident.injuredShort", { count: injured })) : null,
        marked ? h("span", { class: "marking-tag", title: classificationLabel(inc.classification) }, classShort(inc.classification)) : null,
      ),
    ),
  );
}

function classShort(c) {
  return t("classShort." + String(c).replace(/ /g, "_"), { fallback: c });
}

// Colours come from data, so they are set through the CSSOM (no inline style
// attributes, which a strict Content-Security-Policy would refuse).
function paint(root) {
  for (const dot of root.querySelectorAll(".cat-dot[data-colour]")) dot.style.backgroundColor = dot.dataset.colour;
}

function appendItems(items) {
  const ul = $("#incident-list");
  const frag = document.createDocumentFragment();
  for (const inc of items) frag.append(itemFor(inc));
  paint(frag);
  ul.append(frag);
}

function renderList() {
  const ul = $("#incident-list");
  replace(ul);
  appendItems(list.items);
  renderStatus();
}

function refreshTimes() {
  for (const el of $("#incident-list").querySelectorAll("time[datetime]")) el.textContent = formatAgo(el.getAttribute("datetime"));
}

function renderStatus() {
  const n = list.items.length;
  const count = $("#incident-count");
  if (list.total !== null && list.total !== undefined) count.textContent = t("incidents.countOf", { shown: formatNumber(n), count: list.total });
  else count.textContent = n ? t("incidents.countShown", { count: n }) : "";
  const st = $("#incident-list-status");
  if (list.error) st.textContent = list.error;
  else if (list.loading) st.textContent = t("common.loading");
  else if (!n) st.textContent = filtersActive() ? t("incidents.noneMatch") : t("incidents.none");
  else st.textContent = "";
  st.classList.toggle("error", !!list.error);
  $("#incident-more").hidden = list.done || list.loading || (!n && !list.error);
  if (list.error) $("#incident-more").textContent = t("common.retry");
  else $("#incident-more").textContent = t("incidents.more");
}

// upsertLocal puts incidents into the list where they belong, or takes out those
// that no longer match the filters.
function upsertLocal(incs) {
  const ul = $("#incident-list");
  let changed = false;
  for (const inc of incs) {
    const had = list.byId.get(inc.id);
    // The same version is the same report: the stream's snapshot repeats most of
    // the first page, and redrawing those rows is work on the way to the map.
    if (had && had.version >= inc.version) continue;
    const li = ul.querySelector(`li[data-id="${inc.id}"]`);
    if (!matchesFilters(inc)) {
      if (had) {
        list.byId.delete(inc.id);
        list.items.splice(list.items.indexOf(had), 1);
        li?.remove();
        changed = true;
      }
      continue;
    }
    if (had && li && had.occurred_start === inc.occurred_start) {
      list.items[list.items.indexOf(had)] = inc;
      list.byId.set(inc.id, inc);
      const fresh = itemFor(inc);
      paint(fresh);
      li.replaceWith(fresh);
      continue;
    }
    if (had) {
      list.items.splice(list.items.indexOf(had), 1);
      li?.remove();
    }
    // Beyond the last loaded page it will come with "show more".
    const last = list.items[list.items.length - 1];
    if (!list.done && last && !newerThan(inc, last)) {
      list.byId.delete(inc.id);
      continue;
    }
    let i = list.items.findIndex((x) => newerThan(inc, x));
    if (i < 0) i = list.items.length;
    list.items.splice(i, 0, inc);
    list.byId.set(inc.id, inc);
    const fresh = itemFor(inc);
    paint(fresh);
    if (!had) {
      fresh.classList.add("fresh");
      if (list.total !== null) list.total++;
    }
    const before = ul.children[i];
    ul.insertBefore(fresh, before || null);
    changed = true;
  }
  if (changed) renderStatus();
}

// applyLiveIncidents takes incidents from the stream.
export function applyLiveIncidents(incs) {
  liveSinceAsked?.push(...incs);
  const shown = incs.filter((i) => matchesFilters(i));
  if (shown.length) state.map?.upsertIncidents?.(shown);
  // One that left the filtered set cannot be taken off the map one by one: refetch.
  if (filtersActive() && shown.length < incs.length) reloadMapSoon();
  upsertLocal(incs);
  for (const inc of incs) {
    liveUpdate(inc);
    if (mode === "detail" && detail && inc.id === detail.id && inc.version > detail.version) {
      renderDetail(inc, true);
      revisions(inc.id);
    }
  }
  emit("incidents-changed");
}

// --- map -----------------------------------------------------------------------

let mapGen = 0;
let prefetched = null; // {path, answer}: see prefetchMap
let mapAnswered = Promise.resolve(); // settles when the last map request has

// prefetchMap asks for the map's incidents before the map exists: the answer takes
// the server a few hundred milliseconds for 20,000 incidents, and waiting for the
// map's style to load first put that on the way to the first picture. The next
// reloadMap for the same filters takes this answer instead of asking again.
export function prefetchMap() {
  if (!state.features.incidentsMap) return;
  const path = "/api/v1/incidents/map" + query(filterParams());
  const answer = optional(path);
  answer.catch(() => {}); // reported by reloadMap, which awaits it
  prefetched = { path, answer };
  mapAnswered = answer.then(() => {}, () => {});
  liveSinceAsked = [];
}

// prefetchedMap is the answer prefetchMap asked for (a promise), or null.
export function prefetchedMap() {
  return prefetched?.answer ?? null;
}

// Live incidents that came while the map's answer was on its way (null when none is):
// the answer may be older than they are, so they are applied again on top of it.
let liveSinceAsked = null;

async function reloadMap() {
  const m = state.map;
  if (!m) return;
  const gen = ++mapGen;
  if (!state.features.incidentsMap) {
    mapFromList();
    return;
  }
  const path = "/api/v1/incidents/map" + query(filterParams());
  const early = prefetched?.path === path ? prefetched.answer : null;
  prefetched = null;
  if (!early) liveSinceAsked = [];
  const answer = early || optional(path);
  mapAnswered = answer.then(() => {}, () => {});
  try {
    const cols = await answer;
    if (gen !== mapGen) return;
    if (cols === null) {
      // An older server: the map shows what the list has loaded.
      state.features.incidentsMap = false;
      mapFromList();
      return;
    }
    m.setIncidents?.(cols);
    const live = (liveSinceAsked || []).filter((i) => matchesFilters(i));
    liveSinceAsked = null;
    if (live.length) m.upsertIncidents?.(live);
  } catch (e) {
    if (gen !== mapGen) return;
    console.warn("map incidents", describe(e));
    mapFromList(); // what the list has is better than nothing on a bad link
  }
}
const reloadMapSoon = debounce(reloadMap, 3000);

function mapFromList() {
  const m = state.map;
  m?.setIncidents?.({ count: 0 });
  m?.upsertIncidents?.(list.items.filter((i) => i.location?.coordinates));
}

async function drawArea() {
  hooks.showPanel(false);
  try {
    const ring = await state.map?.drawPolygon?.();
    return ring && ring.length >= 3 ? ring : null; // the filters search inside it (areaRing)
  } finally {
    hooks.showPanel(true);
  }
}

// --- views ---------------------------------------------------------------------

function showOnly(which) {
  // While a report is read or written the alerts above it take less room.
  $("#side-panel").classList.toggle("focus-incident", which !== "list");
  $("#incident-list-view").hidden = which !== "list";
  $("#incident-detail").hidden = which !== "detail";
  $("#incident-form").hidden = which !== "form";
  $("#new-incident").hidden = which !== "list" || !can("incident.report");
}

export function showList() {
  if (mode === "form" && formOpen() && formDirty()) {
    // Leaving the map view and coming back must not lose a report being typed.
    history.replaceState(null, "", formTarget() === "new" ? "#/incidents/new" : `#/incidents/${formTarget()}/edit`);
    return;
  }
  if (mode === "form") closeForm(true);
  const wasDetail = mode === "detail" ? detail?.id : null;
  mode = "list";
  detail = null;
  detailGen++;
  showOnly("list");
  for (const li of $("#incident-list").querySelectorAll("li.current")) li.classList.remove("current");
  if (wasDetail) $(`#incident-list li[data-id="${wasDetail}"] button`)?.focus();
}

async function cancelForm() {
  const target = formTarget();
  if (!(await closeForm())) return;
  mode = "list";
  go(target && target !== "new" ? `#/incidents/${target}` : "#/map");
}

function closeDetail() {
  go("#/map");
}

export async function openNew() {
  if (!can("incident.report")) {
    go("#/map");
    return;
  }
  hooks.showPanel(true);
  if (mode === "form" && formTarget() === "new") return;
  if (mode === "form" && !(await closeForm())) return;
  mode = "form";
  showOnly("form");
  openForm(null);
}

export async function openEdit(id) {
  hooks.showPanel(true);
  if (mode === "form" && String(formTarget()) === String(id)) return;
  if (mode === "form" && !(await closeForm())) return;
  try {
    const inc = await api(`/api/v1/incidents/${id}`);
    if (!canEdit(inc)) {
      toast(t("incident.cannotEdit"), "error");
      go(`#/incidents/${id}`);
      return;
    }
    mode = "form";
    showOnly("form");
    openForm(inc);
  } catch (e) {
    toast(describe(e, t("action.editReport")), "error");
    go("#/map");
  }
}

export async function openDetail(id) {
  hooks.showPanel(true);
  if (mode === "form" && formDirty()) {
    if (!(await closeForm())) {
      history.replaceState(null, "", formTarget() === "new" ? "#/incidents/new" : `#/incidents/${formTarget()}/edit`);
      return;
    }
  } else if (mode === "form") closeForm(true);
  mode = "detail";
  showOnly("detail");
  const box = $("#incident-detail");
  if (!detail || detail.id !== Number(id)) replace(box, h("p", { class: "muted" }, t("common.loading")));
  await refreshDetail(Number(id), true);
}

async function refreshDetail(id, focus = false) {
  const gen = ++detailGen;
  try {
    const inc = await api(`/api/v1/incidents/${id}`);
    if (gen !== detailGen) return;
    renderDetail(inc);
    if (focus) $("#detail-title")?.focus();
    state.map?.highlightIncident?.(inc.id);
    revisions(inc.id);
  } catch (e) {
    if (gen !== detailGen) return;
    detail = null;
    replace(
      $("#incident-detail"),
      h("div", { class: "panel-head" }, backButton()),
      h("p", { class: "error", role: "alert" }, e.kind === "notfound" ? t("incident.notFound") : describe(e)),
    );
  }
}

function backButton() {
  return h("button", { type: "button", class: "back", onclick: closeDetail }, h("span", { "aria-hidden": "true" }, "‹"), " ", t("incident.backToList"));
}

function canEdit(inc) {
  if (inc.status === "approved" || inc.status === "rejected") return false;
  if (can("incident.edit")) return true;
  return can("incident.report") && username() === inc.reported_by && inc.status === "draft";
}

// allowedActions mirrors the workflow rules (bluehelm.Incident.Transition) so that
// only buttons that can succeed are shown; the server checks again.
function allowedActions(inc) {
  const me = username();
  const out = [];
  if (inc.status === "draft" && ((me === inc.reported_by && can("incident.report")) || can("incident.edit"))) out.push("submit");
  if (inc.status === "submitted" && can("incident.verify") && me !== inc.reported_by) out.push("verify");
  if (inc.status === "verified" && can("incident.approve") && me !== inc.verified_by) out.push("approve");
  if ((inc.status === "submitted" || inc.status === "verified") && can("incident.reject")) out.push("reject");
  if (inc.status === "rejected" && ((me === inc.reported_by && can("incident.report")) || can("incident.edit"))) out.push("reopen");
  if (openConflicts(inc).length && can("incident.edit")) out.push("reconcile");
  return out;
}

function openConflicts(inc) {
  return (inc.conflicts || []).filter((c) => !c.reconciled_by);
}

// conflictsBlock shows the revisions a federation conflict kept beside the
// report (bluehelm.Incident.Conflicts): what differs, and the other version.
function conflictsBlock(inc) {
  const all = inc.conflicts || [];
  if (!all.length) return null;
  return h(
    "section",
    { class: "detail-block conflicts", id: "incident-conflicts" },
    h("h4", {}, t("conflict.title")),
    openConflicts(inc).length ? h("p", { class: "notice" }, t("conflict.explain")) : null,
    h(
      "ul",
      { class: "plain" },
      all.map((c) => {
        const theirs = c.incident || {};
        const diff = changedFields(inc, theirs);
        return h(
          "li",
          { class: c.reconciled_by ? "muted" : "", dataset: { conflict: `${c.actor}:${c.version}` } },
          t("conflict.entry", { version: c.version, node: c.actor, at: formatDateTime(c.at) }),
          " — ",
          diff.length ? t("conflict.differs", { fields: diff.join(", ") }) : t("conflict.same"),
          c.reconciled_by ? [" · ", t("conflict.reconciledBy", { who: c.reconciled_by })] : null,
          h(
            "details",
            {},
            h("summary", {}, t("conflict.theirs")),
            dl([
              [t("form.title"), theirs.title],
              [t("form.category"), theirs.category ? categoryLabel(theirs.category) : ""],
              [t("filters.status"), theirs.status ? statusLabel(theirs.status) : ""],
              [t("incident.occurred"), theirs.occurred_start ? formatDateTime(theirs.occurred_start) : ""],
              [t("form.narrative"), theirs.narrative],
            ]),
          ),
        );
      }),
    ),
  );
}

function dl(rows) {
  return h("dl", { class: "facts" }, rows.filter((r) => r && r[1] !== "" && r[1] !== null && r[1] !== undefined).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function markingText(inc) {
  const cls = classificationLabel(inc.classification);
  const rel = (inc.releasable_to || []).map(componentLabel);
  if (inc.classification === "UNCLASSIFIED") return cls;
  return rel.length ? t("marking.releasable", { cls, component: componentLabel(inc.component), to: rel.join(", ") }) : t("marking.component", { cls, component: componentLabel(inc.component) });
}

function renderDetail(inc, updated = false) {
  const prevId = detail?.id;
  detail = inc;
  const box = $("#incident-detail");
  const killed = (inc.casualties || []).filter((c) => c.best || c.high);
  const coords = inc.location?.coordinates;
  const actions = allowedActions(inc);
  const cls = String(inc.classification || "UNCLASSIFIED").replace(/ /g, "_").toLowerCase();
  const place = [inc.place_name, inc.admin3, inc.admin2, inc.admin1, inc.country].filter(Boolean).join(", ");

  replace(
    box,
    h("div", { class: "panel-head" }, backButton()),
    h("p", { class: `marking-banner m-${cls}` }, markingText(inc)),
    updated && prevId === inc.id ? h("p", { class: "notice", role: "status" }, t("incident.updatedLive", { version: inc.version })) : null,
    h("h3", { id: "detail-title", tabindex: "-1" }, inc.title),
    h(
      "p",
      { class: "detail-tags" },
      h("span", { class: `status status-${inc.status}` }, statusLabel(inc.status)),
      " ",
      h("span", { class: "cat-tag" }, h("span", { class: "cat-dot", "aria-hidden": "true", "data-colour": categoryColour(inc.category) }), categoryLabel(inc.category)),
      inc.subcategory ? [" · ", subcategoryLabel(inc.category, inc.subcategory)] : null,
      " ",
      h("span", { class: "muted" }, t("incident.idVersion", { id: inc.id, version: inc.version })),
    ),
    h(
      "div",
      { class: "actions detail-actions" },
      coords ? h("button", { type: "button", id: "show-on-map", class: "secondary", onclick: () => showOnMap(inc) }, t("incident.showOnMap")) : null,
      canEdit(inc) ? h("button", { type: "button", id: "edit-incident", class: "secondary", onclick: () => go(`#/incidents/${inc.id}/edit`) }, t("incident.edit")) : null,
      actions.map((a) => h("button", { type: "button", class: a === "reject" ? "danger" : "primary", dataset: { action: a }, onclick: (ev) => workflow(ev.currentTarget, inc, a) }, t("workflow." + a))),
    ),
    h("p", { id: "detail-error", class: "error", role: "alert" }),
    conflictsBlock(inc),
    dl([
      [t("incident.occurred"), h("span", {}, formatDateTime(inc.occurred_start), " ", h("span", { class: "muted" }, "(" + formatUTC(inc.occurred_start) + ")"), inc.time_precision && inc.time_precision !== "exact" ? [" · ", t("timeprec." + inc.time_precision)] : null)],
      [t("incident.place"), place],
      coords ? [t("incident.coordinates"), h("span", {}, formatLatLon(coords[0], coords[1]), inc.mgrs ? h("span", { class: "mono" }, " · " + inc.mgrs) : null, inc.geo_precision && inc.geo_precision !== "exact" ? [" · ", t("geoprec." + inc.geo_precision)] : null)] : null,
      [t("incident.reported"), t("incident.reportedBy", { who: inc.reported_by, at: formatDateTime(inc.reported_at) }) + (inc.reporting_unit ? " · " + inc.reporting_unit : "")],
      inc.updated_at && inc.updated_at !== inc.reported_at ? [t("incident.updated"), formatDateTime(inc.updated_at)] : null,
      inc.target_type ? [t("form.targetType"), t("target." + inc.target_type, { fallback: inc.target_type })] : null,
      inc.verified_by ? [t("incident.verifiedBy"), inc.verified_by] : null,
      inc.approved_by ? [t("incident.approvedBy"), inc.approved_by] : null,
      inc.rejected_by ? [t("incident.rejectedBy"), inc.rejected_by] : null,
      inc.reject_reason ? [t("incident.rejectReason"), inc.reject_reason] : null,
      inc.external_id ? [t("incident.externalId"), inc.external_id] : null,
    ]),
    killed.length
      ? h("section", { class: "detail-block" }, h("h4", {}, t("form.casualties")),
          h("table", { class: "cas-table" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("form.group")), h("th", { scope: "col" }, t("incident.casualtyKind")), h("th", { scope: "col", class: "num" }, t("incident.best")), h("th", { scope: "col", class: "num" }, t("incident.range")))),
            h("tbody", {}, killed.map((c) => h("tr", {}, h("td", {}, t("group." + c.group, { fallback: c.group })), h("td", {}, t("kind." + c.kind, { fallback: c.kind })), h("td", { class: "num" }, formatNumber(c.best)), h("td", { class: "num muted" }, c.low !== c.high ? `${formatNumber(c.low)}–${formatNumber(c.high)}` : ""))))))
      : h("p", { class: "muted" }, t("incident.noCasualties")),
    inc.actors?.length
      ? h("section", { class: "detail-block" }, h("h4", {}, t("form.actors")),
          h("ul", { class: "plain" }, inc.actors.map((a) => h("li", {}, a.name, a.type ? h("span", { class: "muted" }, " · " + t("actor." + a.type, { fallback: a.type })) : null, a.side ? h("span", { class: "muted" }, " · " + t(a.side === "a" ? "form.sideA" : "form.sideB")) : null))))
      : null,
    inc.sources?.length
      ? h("section", { class: "detail-block" }, h("h4", {}, t("form.sources")),
          h("ul", { class: "plain" }, inc.sources.map((s) => h("li", {}, s.name, s.reliability || s.credibility ? h("span", { class: "grading", title: t("incident.gradingTitle", { r: t("reliability." + (s.reliability || "F")), c: t("credibility." + (s.credibility || 6)) }) }, " " + (s.reliability || "–") + (s.credibility || "–")) : null, s.reference ? h("span", { class: "muted" }, " · " + s.reference) : null))))
      : null,
    inc.narrative ? h("section", { class: "detail-block" }, h("h4", {}, t("form.narrative")), h("p", { class: "narrative" }, inc.narrative)) : null,
    inc.links?.length ? h("section", { class: "detail-block" }, h("h4", {}, t("incident.links")), h("ul", { class: "plain" }, inc.links.map((l) => h("li", {}, `${l.kind}: ${l.ref}`)))) : null,
    h("section", { class: "detail-block" }, h("h4", {}, t("incident.history")), h("ol", { id: "revision-list", class: "revisions" }, h("li", { class: "muted" }, t("common.loading")))),
    h("p", { class: `marking-banner m-${cls}` }, markingText(inc)),
  );
  paint(box);
  for (const li of $("#incident-list").querySelectorAll("li.current")) li.classList.remove("current");
  $(`#incident-list li[data-id="${inc.id}"]`)?.classList.add("current");
  emit("incident-detail", inc); // others add their actions (dispatch)
}

let revGen = 0;
async function revisions(id) {
  const gen = ++revGen;
  try {
    const r = await api(`/api/v1/incidents/${id}/revisions`);
    if (gen !== revGen || detail?.id !== id) return;
    const revs = r.revisions || [];
    const ol = $("#revision-list");
    if (!ol) return;
    replace(
      ol,
      revs
        .slice()
        .reverse()
        .map((rev) => {
          const i = revs.indexOf(rev);
          const changed = i > 0 ? changedFields(revs[i - 1].incident, rev.incident) : [];
          return h(
            "li",
            {},
            h("span", { class: "rev-action" }, t("revision." + rev.action, { fallback: rev.action })),
            " ",
            t("incident.revBy", { who: rev.actor, version: rev.version }),
            " · ",
            h("time", { datetime: rev.at, title: formatUTC(rev.at) }, formatDateTime(rev.at)),
            changed.length ? h("span", { class: "muted rev-fields" }, " — " + t("incident.changed", { fields: changed.join(", ") })) : null,
            rev.action === "reject" && rev.incident?.reject_reason ? h("span", { class: "muted" }, " — " + rev.incident.reject_reason) : null,
          );
        }),
    );
    if (!revs.length) replace(ol, h("li", { class: "muted" }, t("incident.noHistory")));
  } catch (e) {
    const ol = $("#revision-list");
    if (ol && gen === revGen) replace(ol, h("li", { class: "error" }, describe(e)));
  }
}

function changedFields(a, b) {
  const names = [
    ["title", "form.title"], ["category", "form.category"], ["subcategory", "form.subcategory"], ["occurred_start", "form.occurred"],
    ["location", "form.place"], ["place_name", "form.placeName"], ["casualties", "form.casualties"], ["narrative", "form.narrativeLabel"],
    ["classification", "form.classification"], ["releasable_to", "form.releasableTo"], ["actors", "form.actors"], ["sources", "form.sources"],
  ];
  return names.filter(([k]) => JSON.stringify(a?.[k] ?? null) !== JSON.stringify(b?.[k] ?? null)).map(([, label]) => t(label));
}

function showOnMap(inc) {
  const [lon, lat] = inc.location.coordinates;
  hooks.showPanel(window.innerWidth >= 1100);
  state.map?.flyTo?.({ lon, lat, zoom: 13 });
  state.map?.highlightIncident?.(inc.id);
}

async function workflow(btn, inc, action) {
  let reason = "";
  if (action === "reject") {
    const r = await askText({ title: t("workflow.rejectTitle", { title: inc.title }), label: t("workflow.rejectReason"), ok: t("workflow.reject"), required: true, hint: t("workflow.rejectHint"), danger: true });
    if (r === null) return;
    reason = r;
  }
  const err = $("#detail-error");
  err.textContent = "";
  const all = $("#incident-detail").querySelectorAll(".detail-actions button");
  all.forEach((b) => (b.disabled = true));
  try {
    const updated = await api(`/api/v1/incidents/${inc.id}/actions/${action}`, { method: "POST", body: reason ? { reason } : {}, ifMatch: inc.version });
    renderDetail(updated);
    upsertLocal([updated]);
    state.map?.upsertIncidents?.([updated]);
    revisions(updated.id);
    const msg = t("workflow.done." + action, { id: updated.id });
    announce(msg);
    toast(msg);
    $("#detail-title")?.focus();
  } catch (e) {
    all.forEach((b) => (b.disabled = false));
    if (e.kind === "stale" || (e.kind === "conflict" && /version/.test(e.problem?.detail || ""))) {
      err.textContent = t("workflow.stale");
      await refreshDetail(inc.id);
      $("#detail-error").textContent = t("workflow.stale");
      return;
    }
    err.textContent = describe(e, t("action." + action + "Report"));
  }
}

export function currentMode() {
  return mode;
}
