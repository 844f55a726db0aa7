// The incident report form: new reports and edits. Edits carry the version they
// started from (If-Match); when someone else saved in between, the server refuses
// and the form explains it in plain words, then offers to put the user's changes
// on top of the other version (a three-way merge by field), so that nothing typed
// over a bad link is lost.

import { t, formatDateTime, onLangChange } from "./i18n.js";
import { api, describe, fieldMessage, ApiError } from "./api.js";
import { $, h, replace, announce, toast } from "./dom.js";
import {
  state, can, clearanceLevels, Components, CasualtyGroups, CasualtyKinds, ActorTypes, TargetTypes,
  TimePrecisions, GeoPrecisions, categoryLabel, subcategoryLabel, classificationLabel, componentLabel, statusLabel,
} from "./state.js";
import { parsePlace, toMGRS, formatLatLon, preloadMGRS } from "./coords.js";
import { confirmDialog, openDialog } from "./dialogs.js";

const form = () => $("#incident-form");

let ctx = null; // {base: Incident|null, point: {lon,lat}|null, dirty, saving, hooks}
let hooks = { onSaved() {}, onClose() {}, pickPoint: async () => null };

export function initForm(h) {
  hooks = { ...hooks, ...h };
  const f = form();
  f.addEventListener("input", () => {
    if (ctx) ctx.dirty = true;
  });
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    save(ev.submitter?.dataset.submit === "1");
  });
  preloadMGRS();
  onLangChange(() => {
    // Rebuild in the new language without losing what was typed.
    if (!ctx || form().hidden) return;
    const current = collect();
    const dirty = ctx.dirty;
    build(current, ctx.base);
    ctx.dirty = dirty;
  });
}

export function formOpen() {
  return !!ctx && !form().hidden;
}

export function formDirty() {
  return !!ctx?.dirty;
}

export function formTarget() {
  return ctx ? ctx.base?.id || "new" : null;
}

// openForm shows the form for a new report (inc null) or an edit of inc (fresh
// from the server, so that its version is the one we edit).
export function openForm(inc) {
  ctx = { base: inc ? structuredClone(inc) : null, point: null, dirty: false, saving: false };
  build(inc, inc);
  form().hidden = false;
  const first = form().elements.namedItem("title");
  first?.focus();
}

export async function closeForm(force = false) {
  if (!ctx) return true;
  if (!force && ctx.dirty) {
    const ok = await confirmDialog({ title: t("form.discardTitle"), text: t("form.discardText"), ok: t("form.discard"), danger: true });
    if (!ok) return false;
  }
  ctx = null;
  form().hidden = true;
  replace(form());
  return true;
}

// liveUpdate hears every incident from the stream: an edit in progress learns at
// once that someone else saved the same report.
export function liveUpdate(inc) {
  if (!ctx?.base || inc.id !== ctx.base.id || inc.version <= ctx.base.version) return;
  const box = $("#form-conflict");
  if (!box || ctx.saving) return;
  box.hidden = false;
  replace(
    box,
    h("p", {}, t("form.changedMeanwhile", { version: inc.version })),
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => reconcile(inc, null) }, t("form.mergeNow"))),
  );
}

// --- building ------------------------------------------------------------------

function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function field(name, labelKey, control, opts = {}) {
  control.id ||= "f-" + name;
  const errId = "err-" + name;
  control.setAttribute("aria-describedby", [opts.hintId, errId].filter(Boolean).join(" "));
  return h(
    "div",
    { class: "field" + (opts.wide ? " wide" : ""), dataset: { field: name } },
    h("label", { for: control.id }, t(labelKey), opts.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    control,
    opts.hint ? h("p", { class: "hint muted", id: opts.hintId }, opts.hint) : null,
    h("p", { class: "field-error", id: errId }),
  );
}

function select(name, options, value, { required = false, empty = null } = {}) {
  return h(
    "select",
    { name, required },
    empty !== null ? h("option", { value: "" }, empty) : null,
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)),
  );
}

function build(inc, base) {
  const f = form();
  const isNew = !base;
  const me = state.me.user;
  const cats = state.taxonomy.categories;
  const cat = inc?.category || "";
  const levels = clearanceLevels();
  const cls = inc?.classification || "UNCLASSIFIED";
  // A report already marked above the user's clearance cannot be in this form (they
  // could not see it); keep its level in the list anyway rather than lower it silently.
  if (!levels.includes(cls)) levels.push(cls);
  const component = base?.component || me.component;
  const occurred = inc?.occurred_start ? new Date(inc.occurred_start) : new Date();
  const coords = inc?.location?.coordinates;
  ctx.point = coords ? { lon: coords[0], lat: coords[1] } : null;

  const catSel = select("category", cats.map((c) => [c.code, categoryLabel(c.code)]), cat, { required: true, empty: t("form.choose") });
  const subSel = h("select", { name: "subcategory" });
  const fillSubs = (code, value) => {
    const info = cats.find((c) => c.code === code);
    const subs = Object.keys(info?.subcategories || {});
    replace(subSel, h("option", { value: "" }, subs.length ? t("form.subNone") : "—"), subs.map((s) => h("option", { value: s, selected: s === value }, subcategoryLabel(code, s))));
    subSel.disabled = subs.length === 0;
  };
  fillSubs(cat, inc?.subcategory || "");
  catSel.addEventListener("change", () => fillSubs(catSel.value, ""));

  const mgrsInput = h("input", {
    name: "mgrs", autocomplete: "off", spellcheck: "false", autocapitalize: "characters", required: true,
    placeholder: t("form.placePlaceholder"), value: inc?.mgrs || (coords ? `${coords[1]}, ${coords[0]}` : ""),
  });
  const resolved = h("output", { id: "place-resolved", class: "muted", for: "f-mgrs" }, coords ? formatLatLon(coords[0], coords[1]) : "");
  ctx.resolvedText = mgrsInput.value.trim();
  mgrsInput.addEventListener("change", () => resolvePlace(mgrsInput, resolved));
  const pick = h("button", { type: "button", id: "pick-on-map", class: "secondary", onclick: () => pickOnMap(mgrsInput, resolved) }, t("form.pickOnMap"));

  const grid = casualtyGrid(inc?.casualties || []);

  const clsSel = select("classification", levels.map((c) => [c, classificationLabel(c)]), cls);
  const releaseBox = h(
    "fieldset",
    { class: "releasable", id: "f-releasable" },
    h("legend", {}, t("form.releasableTo")),
    Components.filter((c) => c !== component).map((c) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "releasable_to", value: c, checked: (inc?.releasable_to || []).includes(c) }), h("span", {}, componentLabel(c))),
    ),
  );
  const syncRelease = () => (releaseBox.hidden = clsSel.value === "UNCLASSIFIED");
  clsSel.addEventListener("change", syncRelease);
  syncRelease();

  const actors = repeater("actors", inc?.actors || [], actorRow, "form.addActor");
  const sources = repeater("sources", inc?.sources || [], sourceRow, "form.addSource");

  const heading = isNew ? t("form.newTitle") : t("form.editTitle", { id: base.id, version: base.version });
  replace(
    f,
    h("div", { class: "panel-head" },
      h("button", { type: "button", class: "back", onclick: () => hooks.onClose(), "aria-label": t("common.back") }, h("span", { "aria-hidden": "true" }, "‹"), " ", t("common.back")),
      h("h3", { id: "form-heading", tabindex: "-1" }, heading)),
    h("div", { id: "form-conflict", class: "conflict", role: "alert", tabindex: "-1", hidden: true }),
    h("p", { id: "form-error", class: "error", role: "alert", tabindex: "-1" }),
    h("fieldset", {}, h("legend", {}, t("form.what")),
      field("title", "form.title", h("input", { name: "title", required: true, maxlength: 200, value: inc?.title || "", autocomplete: "off" }), { required: true, wide: true }),
      field("category", "form.category", catSel, { required: true }),
      field("subcategory", "form.subcategory", subSel)),
    h("fieldset", {}, h("legend", {}, t("form.when")),
      field("occurred_start", "form.occurred", h("input", { type: "datetime-local", name: "occurred_start", required: true, value: localInput(occurred), max: localInput(new Date(Date.now() + 5 * 60000)) }), { required: true, wide: true, hint: t("form.localTime"), hintId: "hint-occurred" })),
    h("fieldset", {}, h("legend", {}, t("form.where")),
      field("mgrs", "form.place", mgrsInput, { required: true, wide: true, hint: t("form.placeHint"), hintId: "hint-mgrs" }),
      h("div", { class: "place-tools wide" }, pick, resolved),
      field("place_name", "form.placeName", h("input", { name: "place_name", maxlength: 200, value: inc?.place_name || "" }), { wide: true })),
    h("fieldset", { class: "casualties" }, h("legend", {}, t("form.casualties")), h("p", { class: "hint muted" }, t("form.casualtiesHint")), grid, h("p", { class: "field-error", id: "err-casualties" })),
    h("fieldset", {}, h("legend", {}, t("form.narrative")),
      field("narrative", "form.narrativeLabel", h("textarea", { name: "narrative", rows: 6, maxlength: 20000 }, inc?.narrative || ""), { wide: true })),
    h("fieldset", {}, h("legend", {}, t("form.marking")),
      field("classification", "form.classification", clsSel),
      h("p", { class: "muted wide" }, t("form.component", { component: componentLabel(component) })),
      releaseBox),
    h("details", { class: "more", open: !!(inc?.actors?.length || inc?.sources?.length) },
      h("summary", {}, t("form.more")),
      h("div", { class: "more-grid" },
        field("reporting_unit", "form.reportingUnit", h("input", { name: "reporting_unit", maxlength: 200, value: inc?.reporting_unit || "" })),
        field("target_type", "form.targetType", select("target_type", TargetTypes.map((x) => [x, t("target." + x)]), inc?.target_type || "", { empty: "—" })),
        field("time_precision", "form.timePrecision", select("time_precision", TimePrecisions.map((x) => [x, t("timeprec." + x)]), inc?.time_precision || "exact")),
        field("geo_precision", "form.geoPrecision", select("geo_precision", GeoPrecisions.map((x) => [x, t("geoprec." + x)]), inc?.geo_precision || "exact"))),
      h("h4", {}, t("form.actors")), actors,
      h("h4", {}, t("form.sources")), sources, h("p", { class: "field-error", id: "err-sources" })),
    h("div", { class: "actions sticky" },
      h("button", { type: "submit", id: "incident-save", class: "primary" }, isNew ? t("form.saveDraft") : t("form.save")),
      isNew && can("incident.report") ? h("button", { type: "submit", id: "incident-save-submit", class: "secondary", dataset: { submit: "1" } }, t("form.saveSubmit")) : null,
      h("button", { type: "button", class: "link", onclick: () => hooks.onClose() }, t("common.cancel"))),
  );
  if (!isNew) {
    f.querySelector(".panel-head").append(h("p", { class: "muted" }, t("form.editing", { status: statusLabel(base.status) })));
  }
}

function casualtyGrid(casualties) {
  const best = (g, k) => casualties.find((c) => c.group === g && c.kind === k)?.best ?? "";
  return h(
    "div",
    { class: "grid-scroll" },
    h(
      "table",
      { class: "casualty-grid" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("form.group")), CasualtyKinds.map((k) => h("th", { scope: "col" }, t("kind." + k))))),
      h(
        "tbody",
        {},
        CasualtyGroups.map((g) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, t("group." + g)),
            CasualtyKinds.map((k) =>
              h("td", {}, h("input", {
                type: "number", min: 0, max: 1000000, step: 1, inputmode: "numeric", name: `casualty-${g}-${k}`,
                value: best(g, k) === 0 ? "0" : best(g, k), "aria-label": t("form.casualtyCell", { group: t("group." + g), kind: t("kind." + k) }),
              })),
            ),
          ),
        ),
      ),
    ),
  );
}

function repeater(name, items, rowFn, addKey) {
  const list = h("div", { class: "repeater", dataset: { name } }, items.map((it) => rowFn(it)));
  const add = () => {
    list.append(rowFn({}));
    if (ctx) ctx.dirty = true;
    list.lastElementChild?.querySelector("input")?.focus();
  };
  return h("div", {}, list, h("button", { type: "button", class: "secondary", onclick: add }, t(addKey)));
}

function removeButton() {
  return h("button", { type: "button", class: "icon-button remove", "aria-label": t("form.removeRow"), onclick: (ev) => { ev.target.closest(".row").remove(); if (ctx) ctx.dirty = true; } }, "×");
}

function actorRow(a) {
  return h(
    "div",
    { class: "row actor" },
    h("label", { class: "field" }, h("span", {}, t("form.actorName")), h("input", { "data-k": "name", maxlength: 200, value: a.name || "" })),
    h("label", { class: "field" }, h("span", {}, t("form.actorType")), select("", ActorTypes.map((x) => [x, t("actor." + x)]), a.type || "", { empty: "—" })),
    h("label", { class: "field" }, h("span", {}, t("form.actorSide")), select("", [["a", t("form.sideA")], ["b", t("form.sideB")]], a.side || "", { empty: "—" })),
    removeButton(),
  );
}

function sourceRow(s) {
  return h(
    "div",
    { class: "row source" },
    h("label", { class: "field" }, h("span", {}, t("form.sourceName")), h("input", { "data-k": "name", maxlength: 200, value: s.name || "" })),
    h("label", { class: "field" }, h("span", {}, t("form.reliability")), select("", ["A", "B", "C", "D", "E", "F"].map((x) => [x, t("reliability." + x)]), s.reliability || "", { empty: "—" })),
    h("label", { class: "field" }, h("span", {}, t("form.credibility")), select("", ["1", "2", "3", "4", "5", "6"].map((x) => [x, t("credibility." + x)]), s.credibility ? String(s.credibility) : "", { empty: "—" })),
    h("label", { class: "field wide" }, h("span", {}, t("form.reference")), h("input", { "data-k": "reference", maxlength: 500, value: s.reference || "" })),
    removeButton(),
  );
}

// --- place ---------------------------------------------------------------------

async function resolvePlace(input, out) {
  setError("mgrs", "");
  const v = input.value.trim();
  ctx.resolvedText = v;
  if (!v) {
    ctx.point = null;
    out.textContent = "";
    return false;
  }
  try {
    const p = await parsePlace(v);
    ctx.point = { lon: p.lon, lat: p.lat };
    out.textContent = formatLatLon(p.lon, p.lat) + (p.mgrs && !/^\d{1,2}[A-Z] /.test(v.toUpperCase()) ? " · " + p.mgrs : "");
    ctx.mgrs = p.mgrs;
    return true;
  } catch (e) {
    ctx.point = null;
    out.textContent = "";
    setError("mgrs", t(e.message));
    return false;
  }
}

async function pickOnMap(input, out) {
  const p = await hooks.pickPoint();
  if (!p || !ctx) return;
  ctx.point = { lon: p.lon, lat: p.lat };
  ctx.dirty = true;
  const ref = await toMGRS(p.lon, p.lat);
  ctx.mgrs = ref;
  input.value = ref || `${p.lat.toFixed(6)}, ${p.lon.toFixed(6)}`;
  ctx.resolvedText = input.value.trim();
  out.textContent = formatLatLon(p.lon, p.lat);
  setError("mgrs", "");
  input.focus();
}

// --- collecting and checking -----------------------------------------------------

// collect builds the incident the form describes, on top of the version being
// edited so that fields the form does not show (links, admin areas…) are kept.
function collect() {
  const f = form();
  const el = (n) => f.elements.namedItem(n);
  const inc = ctx.base ? structuredClone(ctx.base) : {};
  inc.title = el("title").value.trim();
  inc.category = el("category").value;
  inc.subcategory = el("subcategory").value;
  const when = el("occurred_start").value;
  const d = when ? new Date(when) : null;
  inc.occurred_start = d && !Number.isNaN(d.getTime()) ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "";
  inc.time_precision = el("time_precision").value || "exact";
  if (ctx.point) inc.location = { type: "Point", coordinates: [ctx.point.lon, ctx.point.lat] };
  else delete inc.location;
  const typed = el("mgrs").value.trim();
  inc.mgrs = /^\d{1,2}\s*[C-HJ-NP-X]/i.test(typed) ? typed.toUpperCase() : ctx.mgrs || "";
  inc.place_name = el("place_name").value.trim();
  inc.geo_precision = el("geo_precision").value || "exact";
  inc.narrative = el("narrative").value;
  inc.classification = el("classification").value;
  inc.component = ctx.base?.component || state.me.user.component;
  inc.releasable_to = inc.classification === "UNCLASSIFIED" ? [] : [...f.querySelectorAll("input[name=releasable_to]:checked")].map((x) => x.value);
  inc.reporting_unit = el("reporting_unit").value.trim();
  inc.target_type = el("target_type").value;

  const prev = ctx.base?.casualties || [];
  inc.casualties = [];
  for (const g of CasualtyGroups) {
    for (const k of CasualtyKinds) {
      const raw = el(`casualty-${g}-${k}`).value.trim();
      if (raw === "") continue;
      const best = Number(raw);
      if (!Number.isInteger(best) || best < 0) {
        inc.casualties.push({ group: g, kind: k, low: -1, best: -1, high: -1, _bad: true });
        continue;
      }
      if (best === 0 && !prev.some((c) => c.group === g && c.kind === k)) continue;
      // Keep a low/high range the report already had when the best estimate still
      // falls inside it; otherwise the range collapses onto the new figure.
      const old = prev.find((c) => c.group === g && c.kind === k);
      const low = old && old.low <= best ? old.low : best;
      const high = old && old.high >= best ? old.high : best;
      inc.casualties.push({ group: g, kind: k, low, best, high });
    }
  }
  inc.actors = [...f.querySelectorAll(".repeater[data-name=actors] .row")]
    .map((r) => {
      const [type, side] = [...r.querySelectorAll("select")].map((s) => s.value);
      return { name: r.querySelector("[data-k=name]").value.trim(), type, side };
    })
    .filter((a) => a.name || a.type || a.side)
    .map((a) => strip(a));
  inc.sources = [...f.querySelectorAll(".repeater[data-name=sources] .row")]
    .map((r) => {
      const [reliability, credibility] = [...r.querySelectorAll("select")].map((s) => s.value);
      return { name: r.querySelector("[data-k=name]").value.trim(), reliability, credibility: Number(credibility) || 0, reference: r.querySelector("[data-k=reference]").value.trim() };
    })
    .filter((s) => s.name || s.reference || s.reliability || s.credibility)
    .map((s) => strip(s));
  for (const k of ["subcategory", "mgrs", "place_name", "narrative", "reporting_unit", "target_type"]) if (!inc[k]) delete inc[k];
  return inc;
}

const strip = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== "" && v !== 0));

function setError(name, msg) {
  const p = document.getElementById("err-" + name);
  if (p) p.textContent = msg;
  const ctl = form().elements.namedItem(name);
  const c = ctl instanceof RadioNodeList ? null : ctl;
  if (c && c.setAttribute) {
    if (msg) c.setAttribute("aria-invalid", "true");
    else c.removeAttribute("aria-invalid");
  }
  form().querySelector(`[data-field="${name}"]`)?.classList.toggle("invalid", !!msg);
}

function clearErrors() {
  for (const p of form().querySelectorAll(".field-error")) p.textContent = "";
  for (const c of form().querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  for (const c of form().querySelectorAll(".invalid")) c.classList.remove("invalid");
  $("#form-error").textContent = "";
}

function check(inc) {
  const errs = [];
  if (!inc.title) errs.push(["title", t("field.required")]);
  if (!inc.category) errs.push(["category", t("field.required")]);
  if (!inc.occurred_start) errs.push(["occurred_start", t("field.required")]);
  else if (Date.parse(inc.occurred_start) > Date.now() + 5 * 60000) errs.push(["occurred_start", t("field.future")]);
  if (!inc.location) errs.push(["mgrs", form().elements.namedItem("mgrs").value.trim() ? t("coords.invalid") : t("form.placeRequired")]);
  if (inc.casualties.some((c) => c._bad)) errs.push(["casualties", t("form.casualtyInvalid")]);
  if (inc.sources.some((s) => !s.name)) errs.push(["sources", t("form.sourceNameRequired")]);
  return errs;
}

// fieldFor maps a server field path ("casualties[2].best", "location.lat") to
// the form control that holds it.
function fieldFor(path) {
  const top = String(path || "").split(/[.[]/)[0];
  switch (top) {
    case "location":
    case "lat":
    case "lon":
      return "mgrs";
    case "casualties":
      return "casualties";
    case "sources":
    case "actors":
      return "sources";
    case "releasable_to":
    case "component":
      return "classification";
    case "occurred_end":
      return "occurred_start";
    default:
      return form().elements.namedItem(top) || document.getElementById("err-" + top) ? top : "";
  }
}

function focusField(name) {
  const f = form();
  const c = f.elements.namedItem(name);
  const el = c && !(c instanceof RadioNodeList) ? c : f.querySelector(`[name^="casualty-"]`) && name === "casualties" ? f.querySelector(`[name^="casualty-"]`) : document.getElementById("err-" + name);
  el?.focus?.();
  el?.scrollIntoView?.({ block: "center" });
}

// --- saving ----------------------------------------------------------------------

async function save(andSubmit) {
  if (!ctx || ctx.saving) return;
  clearErrors();
  // A place typed but not yet confirmed (no change event before the click).
  const mgrs = form().elements.namedItem("mgrs");
  if (mgrs.value.trim() !== ctx.resolvedText || (mgrs.value.trim() && !ctx.point)) await resolvePlace(mgrs, $("#place-resolved"));
  const inc = collect();
  const errs = check(inc);
  if (errs.length) {
    for (const [n, m] of errs) setError(n, m);
    $("#form-error").textContent = t("form.fixErrors", { count: errs.length });
    focusField(errs[0][0]);
    return;
  }
  ctx.saving = true;
  const buttons = form().querySelectorAll(".actions button[type=submit]");
  buttons.forEach((b) => (b.disabled = true));
  const status = $("#form-error");
  status.classList.remove("error");
  status.textContent = t("form.saving");
  try {
    let saved;
    if (ctx.base) {
      saved = await api(`/api/v1/incidents/${ctx.base.id}`, { method: "PUT", body: inc, ifMatch: ctx.base.version });
    } else {
      if (andSubmit) inc.status = "submitted";
      saved = await api("/api/v1/incidents", { method: "POST", body: inc });
    }
    status.textContent = "";
    status.classList.add("error");
    const wasNew = !ctx.base;
    ctx = null;
    form().hidden = true;
    replace(form());
    announce(wasNew ? t("form.created", { id: saved.id }) : t("form.updated", { id: saved.id, version: saved.version }));
    toast(wasNew ? t("form.created", { id: saved.id }) : t("form.updated", { id: saved.id, version: saved.version }));
    hooks.onSaved(saved);
  } catch (e) {
    status.textContent = "";
    status.classList.add("error");
    await failed(e, inc);
  } finally {
    if (ctx) {
      ctx.saving = false;
      buttons.forEach((b) => (b.disabled = false));
    }
  }
}

async function failed(e, mine) {
  if (!(e instanceof ApiError)) {
    $("#form-error").textContent = t("error.unexpected");
    console.error(e);
    return;
  }
  if (e.kind === "unauthenticated") {
    // The app is sending the user to sign in; the form stays as it is, and the
    // same user finds it again afterwards.
    $("#form-error").textContent = t("form.signInAgain");
    return;
  }
  if (ctx.base && (e.kind === "stale" || e.kind === "conflict")) {
    // Did the report move on from the version we edited? Then it is a concurrent
    // edit (412, or a 409 raised because the new version is locked).
    let theirs = null;
    try {
      theirs = await api(`/api/v1/incidents/${ctx.base.id}`);
    } catch {
      /* shown below as a plain conflict */
    }
    if (theirs && theirs.version !== ctx.base.version) {
      await showConflict(theirs, mine);
      return;
    }
  }
  if (e.kind === "invalid" && e.field) {
    const name = fieldFor(e.field);
    if (name) {
      setError(name, fieldMessage(e.problem.detail));
      $("#form-error").textContent = t("form.fixErrors", { count: 1 });
      focusField(name);
      return;
    }
  }
  $("#form-error").textContent = describe(e, ctx.base ? t("action.editReport") : t("action.fileReport"));
  $("#form-error").focus?.();
}

async function lastChange(id) {
  try {
    const r = await api(`/api/v1/incidents/${id}/revisions`);
    const revs = r?.revisions || [];
    return revs[revs.length - 1] || null;
  } catch {
    return null;
  }
}

async function showConflict(theirs, mine) {
  const rev = await lastChange(theirs.id);
  const who = rev?.actor || theirs.reported_by || "?";
  const box = $("#form-conflict");
  box.hidden = false;
  const locked = theirs.status === "approved" || theirs.status === "rejected";
  replace(
    box,
    h("p", {}, t("conflict.text", { version: theirs.version, who })),
    rev ? h("p", { class: "muted" }, t("conflict.when", { action: t("revision." + rev.action, { fallback: rev.action }), at: formatDateTime(rev.at) })) : null,
    locked ? h("p", {}, t("conflict.locked", { status: statusLabel(theirs.status) })) : null,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => reviewDialog(theirs, mine, who) }, t("conflict.review")),
      locked ? null : h("button", { type: "button", class: "primary", id: "conflict-reload", onclick: () => reconcile(theirs, who) }, t("conflict.reload")),
    ),
  );
  box.focus?.();
  announce(t("conflict.text", { version: theirs.version, who }), true);
}

// The fields a person can change in the form, for comparing versions.
const compared = [
  ["title", "form.title", (i) => i.title || ""],
  ["category", "form.category", (i) => i.category || ""],
  ["subcategory", "form.subcategory", (i) => i.subcategory || ""],
  ["occurred_start", "form.occurred", (i) => (i.occurred_start ? new Date(i.occurred_start).toISOString().slice(0, 16) : "")],
  ["time_precision", "form.timePrecision", (i) => i.time_precision || "exact"],
  ["location", "form.place", (i) => (i.location?.coordinates ? i.location.coordinates.map((x) => x.toFixed(6)).join(",") : "")],
  ["mgrs", "form.place", (i) => (i.mgrs || "").replace(/\s+/g, "")],
  ["place_name", "form.placeName", (i) => i.place_name || ""],
  ["geo_precision", "form.geoPrecision", (i) => i.geo_precision || "exact"],
  ["casualties", "form.casualties", (i) => JSON.stringify((i.casualties || []).filter((c) => c.best || c.low || c.high).map((c) => [c.group, c.kind, c.low, c.best, c.high]).sort())],
  ["narrative", "form.narrativeLabel", (i) => i.narrative || ""],
  ["classification", "form.classification", (i) => i.classification || "UNCLASSIFIED"],
  ["releasable_to", "form.releasableTo", (i) => [...(i.releasable_to || [])].sort().join(",")],
  ["reporting_unit", "form.reportingUnit", (i) => i.reporting_unit || ""],
  ["target_type", "form.targetType", (i) => i.target_type || ""],
  ["actors", "form.actors", (i) => JSON.stringify((i.actors || []).map((a) => [a.name, a.type || "", a.side || ""]))],
  ["sources", "form.sources", (i) => JSON.stringify((i.sources || []).map((s) => [s.name, s.reliability || "", s.credibility || 0, s.reference || ""]))],
];

function display(key, inc) {
  switch (key) {
    case "category":
      return categoryLabel(inc.category);
    case "subcategory":
      return subcategoryLabel(inc.category, inc.subcategory);
    case "occurred_start":
      return formatDateTime(inc.occurred_start);
    case "location":
      return inc.location?.coordinates ? formatLatLon(...inc.location.coordinates) : "";
    case "classification":
      return classificationLabel(inc.classification);
    case "casualties":
      return (inc.casualties || []).filter((c) => c.best).map((c) => `${t("group." + c.group)} ${t("kind." + c.kind)}: ${c.best}`).join("; ");
    case "actors":
      return (inc.actors || []).map((a) => a.name).join(", ");
    case "sources":
      return (inc.sources || []).map((s) => s.name).join(", ");
    case "releasable_to":
      return (inc.releasable_to || []).map(componentLabel).join(", ");
    default:
      return String(inc[key] ?? "");
  }
}

function reviewDialog(theirs, mine, who) {
  const base = ctx?.base || theirs;
  const rows = [];
  for (const [key, label, val] of compared) {
    if (key === "mgrs") continue;
    const b = val(base), th = val(theirs), m = val(mine);
    if (b === th && b === m) continue;
    rows.push(
      h("tr", { class: th !== b && m !== b && th !== m ? "both" : "" },
        h("th", { scope: "row" }, t(label)),
        h("td", {}, th !== b ? display(key, theirs) : h("span", { class: "muted" }, t("conflict.unchanged"))),
        h("td", {}, m !== b ? display(key, mine) : h("span", { class: "muted" }, t("conflict.unchanged")))),
    );
  }
  openDialog(
    (close) =>
      h("div", {},
        h("h2", {}, t("conflict.reviewTitle")),
        h("p", { class: "muted" }, t("conflict.reviewText", { who })),
        rows.length
          ? h("div", { class: "grid-scroll" }, h("table", { class: "compare" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("conflict.field")), h("th", { scope: "col" }, t("conflict.theirs", { who })), h("th", { scope: "col" }, t("conflict.yours")))),
              h("tbody", {}, rows)))
          : h("p", {}, t("conflict.noDifference")),
        h("div", { class: "actions end" }, h("button", { type: "button", class: "primary", onclick: () => close(true) }, t("common.close")))),
    { label: t("conflict.reviewTitle"), className: "wide" },
  );
}

// reconcile rebuilds the form on their version, keeping every field the user
// changed (their own text wins where both changed, and those fields are flagged).
function reconcile(theirs, who) {
  if (!ctx) return;
  const base = ctx.base;
  const mine = collect();
  const merged = structuredClone(theirs);
  const both = [];
  for (const [key, , val] of compared) {
    if (val(mine) === val(base)) continue; // untouched by the user: theirs stands
    if (key === "location") merged.location = mine.location;
    else if (mine[key] === undefined) delete merged[key];
    else merged[key] = mine[key];
    if (val(theirs) !== val(base) && val(theirs) !== val(mine)) both.push(key);
  }
  ctx.base = structuredClone(theirs);
  build(merged, ctx.base);
  ctx.dirty = true;
  const box = $("#form-conflict");
  box.hidden = false;
  const labels = both.filter((k) => k !== "mgrs").map((k) => t(compared.find((c) => c[0] === k)[1]));
  replace(
    box,
    h("p", {}, t("conflict.reloaded", { version: theirs.version })),
    labels.length ? h("p", {}, t("conflict.bothChanged", { fields: [...new Set(labels)].join(", "), who: who || "" })) : null,
  );
  for (const k of both) {
    const name = k === "location" ? "mgrs" : k;
    form().querySelector(`[data-field="${name}"]`)?.classList.add("both-changed");
  }
  $("#form-heading")?.focus();
}
