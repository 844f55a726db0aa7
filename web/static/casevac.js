// Casualty evacuation (issue 8): the CASEVAC board (#/casevac) in the side panel
// beside the map. Open requests with the three 10-1-2 clocks counting down from the
// time of wounding (coloured as each nears and passes its deadline), the
// recommended destination and means with the reason, the steps allowed, the
// timeline and the two-step casualty notification; the 9-line form (pick-up by a
// click on the map or typed as MGRS / lat, lon).
// Everything from users and devices is set as text, never as HTML.

import { t, lang, formatTime, formatDateTime, formatNumber, onLangChange } from "./i18n.js";
import { api, query, describe } from "./api.js";
import { $, h, replace, announce, toast } from "./dom.js";
import { on, can, username } from "./state.js";
import { askText } from "./dialogs.js";
import { parsePlace, toMGRS, formatLatLon } from "./coords.js";

const OpenStatuses = ["requested", "approved", "launched", "picked_up"];
const Precedences = ["urgent", "urgent_surgical", "priority", "routine", "convenience"];
const Equipment = ["hoist", "extraction", "ventilator"];
const Security = ["no_enemy", "possible_enemy", "enemy", "armed_escort"];
const Markings = ["panels", "pyrotechnic", "smoke", "none", "other"];
const Categories = ["un_military", "un_police", "un_civilian", "host_nation_forces", "civilian", "detainee", "other"];

let hooks = { pickPoint: async () => null, showPanel() {} };
let visible = false;
let gen = 0;
let requests = new Map(); // id → request view
let recs = new Map(); // id → recommendation
let skew = 0; // server now − browser now, ms: the clocks run on the server's time
let ticker = null;
let poller = null;
let mode = "board"; // or "form"
let picked = null; // {lon, lat, mgrs} chosen for the form
let coverage = { on: false, busy: false, text: "" }; // the map's coverage layer
let facilities = []; // the medical facility registry, for names and free beds

export function initCasevac(h0) {
  hooks = { ...hooks, ...h0 };
  onLangChange(() => visible && render());
  on("me", () => visible && render());
}

export function resetCasevac() {
  visible = false;
  coverage = { on: false, busy: false, text: "" };
  stopTimers();
  requests = new Map();
  recs = new Map();
  mode = "board";
  const body = $("#casevac-body");
  if (body) replace(body);
}

export function showCasevac(show) {
  visible = show;
  if (!show) {
    stopTimers();
    return;
  }
  document.title = t("casevac.pageTitle");
  render();
  load();
  stopTimers();
  ticker = setInterval(tick, 1000);
  poller = setInterval(load, 10000);
}

function stopTimers() {
  clearInterval(ticker);
  clearInterval(poller);
  ticker = poller = null;
}

async function load() {
  const g = ++gen;
  try {
    const [list, fl] = await Promise.all([
      api("/api/v1/casevac" + query({ status: OpenStatuses, limit: 200 })),
      api("/api/v1/medical-facilities").catch(() => null),
    ]);
    if (g !== gen) return;
    if (fl) facilities = fl.facilities || [];
    requests = new Map((list?.casevacs || []).map((c) => [c.id, c]));
    const first = list?.casevacs?.[0];
    if (first?.now) skew = Date.parse(first.now) - Date.now();
    // The recommendation is asked for while a destination is still to be chosen.
    await Promise.all([...requests.values()].filter((c) => c.status === "requested").map(loadRec));
    if (g !== gen) return;
    if (mode === "board") render();
  } catch (e) {
    if (g !== gen) return;
    const s = $("#casevac-status");
    if (s) {
      s.textContent = describe(e);
      s.classList.add("error");
    }
  }
}

async function loadRec(c) {
  try {
    recs.set(c.id, await api(`/api/v1/casevac/${c.id}/recommendation`));
  } catch {
    recs.delete(c.id);
  }
}

function serverNow() {
  return Date.now() + skew;
}

// --- board -------------------------------------------------------------------------

function render() {
  const body = $("#casevac-body");
  if (!body) return;
  if (mode === "form") return;
  const list = [...requests.values()].sort((a, b) => Date.parse(a.wounded_at) - Date.parse(b.wounded_at) || a.id - b.id);
  const active = document.activeElement;
  const focusKey = active && body.contains(active) ? [active.closest("[data-casevac]")?.dataset.casevac, active.dataset.action] : null;
  const facilitiesOpen = !!$("#casevac-facilities")?.open;
  replace(
    body,
    h("div", { class: "section-head" },
      h("h2", { id: "casevac-heading" }, t("casevac.boardTitle")),
      h("span", { class: "badge" + (list.length ? " critical" : "") }, formatNumber(list.length)),
      can("casevac.request") ? h("button", { type: "button", class: "primary", id: "casevac-new", onclick: () => openForm() }, t("casevac.new")) : null),
    h("p", { class: "muted small" }, t("casevac.hint")),
    h("p", { id: "casevac-status", class: "muted", "aria-live": "polite" }, list.length ? "" : t("casevac.none")),
    h("div", { class: "casevac-coverage" },
      h("button", { type: "button", class: "secondary", id: "casevac-coverage-toggle", "aria-pressed": String(coverage.on), disabled: coverage.busy, onclick: toggleCoverage }, t("casevac.coverage")),
      h("span", { class: "small muted", id: "casevac-coverage-share", "aria-live": "polite" }, coverage.text)),
    h("ul", { class: "casevac-list", id: "casevac-list" }, list.map(card)),
    facilitySection(),
  );
  if (facilitiesOpen) $("#casevac-facilities").open = true;
  if (focusKey?.[0]) {
    const el = body.querySelector(`[data-casevac="${focusKey[0]}"] [data-action="${focusKey[1]}"]`) || body.querySelector(`[data-casevac="${focusKey[0]}"] button`);
    el?.focus();
  }
  tick();
}

function patientsText(p) {
  return Precedences.filter((k) => p?.[k]).map((k) => `${p[k]} ${t("casevac.prec." + k)}`).join(", ");
}

function card(c) {
  const rec = recs.get(c.id);
  const manage = can("casevac.manage");
  const notify = can("casualty.notify");
  const n = c.notification || {};
  const me = username();
  return h(
    "li",
    { class: `casevac-card cstatus-${c.status}`, dataset: { casevac: c.id, status: c.status } },
    h("div", { class: "task-head" },
      h("strong", {}, c.call_sign),
      " ",
      h("span", { class: `status cstatus-${c.status}` }, t("casevac.status." + c.status)),
      c.incident_id ? [" · ", h("a", { href: `#/incidents/${c.incident_id}` }, t("casevac.incidentNo", { id: c.incident_id }))] : null),
    h("p", { class: "small" }, patientsText(c.patients), " · ", t("casevac.litterAmb", { litter: c.litter, ambulatory: c.ambulatory })),
    h("p", { class: "small muted" }, t("casevac.woundedAt", { at: formatDateTime(c.wounded_at) }), c.mgrs ? " · " + c.mgrs : ""),
    h("div", { class: "casevac-clocks", role: "group", "aria-label": t("casevac.clocks") },
      (c.clocks || []).map((k) => h("div", { class: `cv-clock cv-${k.state}`, dataset: { clock: k.name, state: k.state, deadline: k.deadline, warn: k.warn_at, met: k.met_at || "" } },
        h("span", { class: "cv-name" }, t("casevac.clock." + k.name)),
        h("span", { class: "cv-time" }, ""),
        h("span", { class: "cv-state small" }, "")))),
    rec ? recBlock(c, rec) : null,
    c.facility_id ? h("p", { class: "small" }, t("casevac.destination", { means: t("casevac.means." + (c.means || "road")), unit: c.asset_unit || "—", facility: facilityName(c.facility_id) })) : null,
    allowedFor(c, manage).length
      ? h("div", { class: "actions" }, allowedFor(c, manage).map((a) => h("button", { type: "button", class: a === "cancel" ? "danger" : a === "approve" ? "primary" : "secondary", dataset: { action: a }, onclick: (ev) => step(ev.currentTarget, c, a) }, t("casevac.action." + a))))
      : null,
    h("details", { class: "casevac-timeline" },
      h("summary", {}, t("casevac.timeline"), " (", formatNumber(c.timeline?.length || 0), ")"),
      h("ol", { class: "small" }, (c.timeline || []).map((s) => h("li", { dataset: { step: s.status } },
        formatTime(s.at), " ", t("casevac.step." + s.status), " — ", s.by, s.from_positions ? " " + t("casevac.fromPositions") : "", s.note ? h("span", { class: "muted" }, " · " + s.note) : null)))),
    h("div", { class: "casevac-notify small" },
      h("span", {}, t("casevac.notification"), ": "),
      n.confirmed_by ? h("span", { class: "ok-tag" }, t("casevac.confirmedBy", { verified: n.verified_by, confirmed: n.confirmed_by }))
        : n.verified_by ? h("span", { class: "bad-tag" }, t("casevac.verifiedBy", { who: n.verified_by }))
        : h("span", { class: "muted" }, t("casevac.notVerified")),
      notify && !n.verified_by ? h("button", { type: "button", class: "secondary", dataset: { action: "verify" }, onclick: (ev) => notifyStep(ev.currentTarget, c, "verify") }, t("casevac.verify")) : null,
      notify && n.verified_by && !n.confirmed_by && n.verified_by !== me ? h("button", { type: "button", class: "primary", dataset: { action: "confirm" }, onclick: (ev) => notifyStep(ev.currentTarget, c, "confirm") }, t("casevac.confirm")) : null),
    c.terrain ? h("p", { class: "small muted" }, t("casevac.terrain"), ": ", c.terrain) : null,
    c.note ? h("p", { class: "small muted" }, c.note) : null,
  );
}

// allowedFor lists the step buttons the user gets: the whole flow for those who
// manage evacuations, first aid for those who may request one.
function allowedFor(c, manage) {
  const all = c.allowed || [];
  if (manage) return all;
  return can("casevac.request") ? all.filter((a) => a === "first_aid") : [];
}

function recBlock(c, rec) {
  const b = rec.best;
  return h("div", { class: "casevac-rec" + (rec.misses?.length ? " misses" : " meets"), dataset: { recommendation: c.id } },
    h("p", { class: "small" }, h("strong", {}, t("casevac.recommended")), " ",
      b ? t("casevac.recLine", { facility: b.facility_name, level: b.facility_level, means: t("casevac.means." + b.means), unit: b.asset_unit }) : t("casevac.noRec")),
    rec.misses?.length ? h("p", { class: "small bad-tag" }, t("casevac.misses", { list: rec.misses.map((m) => t("casevac.clock." + m)).join(", ") })) : b ? h("p", { class: "small ok-tag" }, t("casevac.meetsAll")) : null,
    h("p", { class: "small muted rec-reason" }, rec.reason),
    h("p", { class: "small muted" }, t("casevac.estimated")));
}

// tick updates the countdowns without rebuilding the board.
function tick() {
  const now = serverNow();
  for (const el of document.querySelectorAll("#casevac-list .cv-clock")) {
    const deadline = Date.parse(el.dataset.deadline);
    const warn = Date.parse(el.dataset.warn);
    const met = el.dataset.met;
    let st = el.dataset.state;
    if (st === "running" || st === "warning") st = now >= deadline ? "missed" : now >= warn ? "warning" : "running";
    else if (st === "missed" && met) st = "met_late";
    el.className = `cv-clock cv-${st}`;
    el.dataset.live = st;
    const left = Math.round((deadline - now) / 1000);
    const time = el.querySelector(".cv-time");
    const label = el.querySelector(".cv-state");
    if (st === "met" || st === "met_late") {
      time.textContent = formatTime(met);
    } else if (st === "stopped") {
      time.textContent = "—";
    } else {
      time.textContent = (left < 0 ? "−" : "") + mmss(Math.abs(left));
    }
    label.textContent = t("casevac.clockState." + st);
  }
}

function mmss(s) {
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
}

async function step(btn, c, action) {
  const body = {};
  if (action === "cancel") {
    const note = await askText({ title: t("casevac.cancelTitle", { callSign: c.call_sign }), label: t("casevac.cancelReason"), ok: t("casevac.action.cancel"), required: true, danger: true });
    if (note === null) return;
    body.note = note;
  }
  if (action === "approve") {
    const b = recs.get(c.id)?.best;
    if (b) Object.assign(body, { facility_id: b.facility_id, means: b.means, asset_unit: b.asset_unit });
  }
  btn.disabled = true;
  try {
    const next = await api(`/api/v1/casevac/${c.id}/actions/${action}`, { method: "POST", body, ifMatch: c.version });
    update(next);
    announce(t("casevac.done", { callSign: next.call_sign, status: t("casevac.status." + next.status) }));
  } catch (e) {
    toast(describe(e, t("casevac.forbid")), "error");
    load();
  } finally {
    if (btn.isConnected) btn.disabled = false;
  }
}

async function notifyStep(btn, c, which) {
  let body = {};
  if (which === "verify") {
    const note = await askText({ title: t("casevac.verifyTitle", { callSign: c.call_sign }), label: t("casevac.verifyNote"), ok: t("casevac.verify"), required: false });
    if (note === null) return;
    if (note) body = { note };
  }
  btn.disabled = true;
  try {
    update(await api(`/api/v1/casevac/${c.id}/notification/${which}`, { method: "POST", body }));
    announce(t(which === "verify" ? "casevac.verified" : "casevac.confirmed"));
  } catch (e) {
    toast(describe(e, t("casevac.forbid")), "error");
  } finally {
    if (btn.isConnected) btn.disabled = false;
  }
}

function update(c) {
  if (c.now) skew = Date.parse(c.now) - Date.now();
  if (OpenStatuses.includes(c.status)) requests.set(c.id, c);
  else requests.delete(c.id);
  if (c.status !== "requested") recs.delete(c.id);
  render();
}

// --- medical facilities ------------------------------------------------------------

function facilityName(id) {
  return facilities.find((f) => f.id === id)?.name || "#" + id;
}

// facilitySection lists the registry with what CASEVAC weighs (level, free beds,
// ICU beds, aeromedical team, hours); medical officers update free beds here.
function facilitySection() {
  const manage = can("medical.manage");
  const rows = [...facilities].sort((a, b) => a.name.localeCompare(b.name));
  return h("details", { class: "casevac-facilities", id: "casevac-facilities" },
    h("summary", {}, t("casevac.facilities"), " (", formatNumber(rows.length), ")"),
    rows.length ? h("ul", { class: "casevac-list" }, rows.map((f) => {
      const beds = f.beds_available ?? null;
      const input = manage ? h("input", { type: "number", min: 0, max: f.beds || 10000, value: beds ?? "", "aria-label": t("casevac.bedsFor", { name: f.name }), class: "cv-beds" }) : null;
      return h("li", { class: "casevac-card facility", dataset: { facility: f.id } },
        h("div", { class: "task-head" }, h("strong", {}, f.name), " ", h("span", { class: "status" }, t("casevac.level", { level: f.level })),
          f.out_of_service ? [" ", h("span", { class: "bad-tag" }, t("casevac.outOfService"))] : null),
        h("p", { class: "small" },
          t("casevac.bedsLine", { free: beds ?? "?", beds: f.beds || "?", icu: f.icu_beds || 0 }),
          f.aeromedical_team ? " · " + t("casevac.amet") : "",
          f.helicopter_landing_sites?.length ? " · " + t("casevac.hls") : "",
          " · ", f.hours ? t("casevac.hours", { open: f.hours.open, close: f.hours.close }) : t("casevac.always")),
        manage ? h("div", { class: "actions" }, input,
          h("button", { type: "button", class: "secondary", dataset: { action: "beds" }, onclick: (ev) => saveBeds(ev.currentTarget, f, input) }, t("casevac.updateBeds"))) : null);
    })) : h("p", { class: "muted small" }, t("casevac.noFacilities")));
}

async function saveBeds(btn, f, input) {
  const v = input.value.trim();
  const next = { ...f };
  for (const k of ["id", "version", "updated_by", "updated_at"]) delete next[k];
  if (v === "") delete next.beds_available;
  else next.beds_available = Number(v);
  btn.disabled = true;
  try {
    const saved = await api(`/api/v1/medical-facilities/${f.id}`, { method: "PUT", body: next, ifMatch: f.version });
    facilities = facilities.map((x) => (x.id === saved.id ? saved : x));
    announce(t("casevac.bedsSaved", { name: saved.name }));
    recs.clear();
    load();
  } catch (e) {
    toast(describe(e, t("casevac.forbid")), "error");
    input.setAttribute("aria-invalid", "true");
  } finally {
    if (btn.isConnected) btn.disabled = false;
  }
}

// --- coverage layer ----------------------------------------------------------------

async function toggleCoverage() {
  const mod = await import("/map/coverage.js");
  if (coverage.on) {
    mod.hideCoverage(window.bluehelmMap);
    coverage = { on: false, busy: false, text: "" };
    render();
    return;
  }
  coverage.busy = true;
  render();
  try {
    const fc = await api("/api/v1/coverage" + query({ format: "geojson", cell_km: 2 }));
    const shown = mod.showCoverage(window.bluehelmMap, fc, facilities);
    const pct = (x) => new Intl.NumberFormat(lang(), { style: "percent", maximumFractionDigits: 0 }).format(x);
    coverage = { on: shown, busy: false, text: t("casevac.coverageShare", { out1: pct(fc.share_outside_1h), out2: pct(fc.share_outside_2h) }) };
    hooks.showPanel(false);
  } catch (e) {
    coverage = { on: false, busy: false, text: describe(e) };
  }
  render();
}

// --- 9-line form ------------------------------------------------------------------

function localInput(d) {
  const x = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return x.toISOString().slice(0, 16);
}

const req = () => h("span", { class: "req", "aria-hidden": "true" }, "*");

function openForm() {
  mode = "form";
  picked = null;
  const body = $("#casevac-body");
  const num = (name, label, value = 0) => h("label", { class: "field cv-num" }, h("span", {}, label), h("input", { type: "number", name, min: 0, max: 500, value, inputmode: "numeric" }));
  const place = h("input", { name: "place", id: "cv-place", autocomplete: "off", placeholder: t("casevac.placePlaceholder"), "aria-describedby": "cv-place-shown" });
  const shown = h("p", { id: "cv-place-shown", class: "small muted", "aria-live": "polite" });
  const err = h("p", { class: "error", id: "casevac-form-error", role: "alert" });
  const setPlace = async (p) => {
    picked = p;
    if (!p.mgrs) p.mgrs = await toMGRS(p.lon, p.lat);
    place.value = p.mgrs || `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}`;
    shown.textContent = formatLatLon(p.lon, p.lat);
  };
  place.addEventListener("change", async () => {
    try {
      await setPlace(await parsePlace(place.value));
      place.removeAttribute("aria-invalid");
    } catch (e) {
      picked = null;
      place.setAttribute("aria-invalid", "true");
      shown.textContent = t(e.message);
    }
  });
  const form = h(
    "form",
    {
      id: "casevac-form",
      class: "casevac-form",
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.textContent = "";
        for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
        if (!picked && place.value.trim()) {
          try {
            await setPlace(await parsePlace(place.value));
          } catch (e) {
            err.textContent = t(e.message);
            place.setAttribute("aria-invalid", "true");
            return;
          }
        }
        const f = form.elements;
        const patients = Object.fromEntries(Precedences.map((k) => [k, Number(f["prec_" + k].value) || 0]));
        const equipment = Equipment.filter((k) => f["eq_" + k].checked);
        const body = {
          frequency: f.frequency.value.trim(),
          call_sign: f.call_sign.value.trim(),
          patients,
          equipment: equipment.length ? equipment : ["none"],
          litter: Number(f.litter.value) || 0,
          ambulatory: Number(f.ambulatory.value) || 0,
          categories: Categories.filter((k) => f["cat_" + k].checked),
          terrain: f.terrain.value,
          note: f.note.value,
          wounded_at: f.wounded_at.value ? new Date(f.wounded_at.value).toISOString().replace(/\.\d{3}Z$/, "Z") : "",
          source: "web",
        };
        if (picked) {
          body.location = { type: "Point", coordinates: [picked.lon, picked.lat] };
          if (picked.mgrs) body.mgrs = picked.mgrs.slice(0, 30);
        }
        if (f.security.value) body.security = f.security.value;
        if (f.pickup_marking.value) body.pickup_marking = f.pickup_marking.value;
        if (f.incident_id.value) body.incident_id = Number(f.incident_id.value);
        if (!body.wounded_at) delete body.wounded_at;
        const btn = form.querySelector("button[type=submit]");
        btn.disabled = true;
        try {
          const c = await api("/api/v1/casevac", { method: "POST", body });
          toast(t("casevac.created", { callSign: c.call_sign }));
          announce(t("casevac.created", { callSign: c.call_sign }));
          mode = "board";
          requests.set(c.id, c);
          await loadRec(c);
          render();
          load();
        } catch (e) {
          err.textContent = describe(e, t("casevac.forbid"));
          const field = (e.field || "").split(/[.[]/)[0];
          const target = field === "location" || field === "mgrs" ? place : form.querySelector(`[name="${field}"]`) || (field === "patients" ? form.querySelector("[name=prec_urgent]") : null);
          if (target) {
            target.setAttribute("aria-invalid", "true");
            target.focus();
          }
          btn.disabled = false;
        }
      },
    },
    h("div", { class: "section-head" }, h("h2", { id: "casevac-heading" }, t("casevac.formTitle"))),
    h("p", { class: "muted small" }, t("casevac.formHint")),
    h("fieldset", {},
      h("legend", {}, t("casevac.line1")),
      h("label", { class: "field", for: "cv-place" }, h("span", {}, t("casevac.place"), " ", req()), place),
      shown,
      h("button", { type: "button", class: "secondary", id: "cv-pick", onclick: async () => {
        const p = await hooks.pickPoint();
        if (p) await setPlace({ lon: p.lon ?? p[0], lat: p.lat ?? p[1] });
        place.focus();
      } }, t("casevac.pick"))),
    h("fieldset", {},
      h("legend", {}, t("casevac.line2")),
      h("label", { class: "field" }, h("span", {}, t("casevac.frequency"), " ", req()), h("input", { name: "frequency", maxlength: 40, required: true })),
      h("label", { class: "field" }, h("span", {}, t("casevac.callSign"), " ", req()), h("input", { name: "call_sign", maxlength: 40, required: true }))),
    h("fieldset", { class: "cv-grid" },
      h("legend", {}, t("casevac.line3")),
      Precedences.map((k) => num("prec_" + k, t("casevac.prec." + k)))),
    h("fieldset", {},
      h("legend", {}, t("casevac.line4")),
      Equipment.map((k) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "eq_" + k }), " ", t("casevac.equipment." + k)))),
    h("fieldset", { class: "cv-grid" },
      h("legend", {}, t("casevac.line5")),
      num("litter", t("casevac.litter")),
      num("ambulatory", t("casevac.ambulatory"))),
    h("label", { class: "field" }, h("span", {}, t("casevac.line6")),
      h("select", { name: "security" }, h("option", { value: "" }, "—"), Security.map((k) => h("option", { value: k }, t("casevac.security." + k))))),
    h("label", { class: "field" }, h("span", {}, t("casevac.line7")),
      h("select", { name: "pickup_marking" }, h("option", { value: "" }, "—"), Markings.map((k) => h("option", { value: k }, t("casevac.marking." + k))))),
    h("fieldset", {},
      h("legend", {}, t("casevac.line8")),
      Categories.map((k) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "cat_" + k }), " ", t("casevac.cat." + k)))),
    h("label", { class: "field" }, h("span", {}, t("casevac.line9")), h("textarea", { name: "terrain", rows: 2, maxlength: 500 })),
    h("label", { class: "field" }, h("span", {}, t("casevac.woundedLabel")), h("input", { type: "datetime-local", name: "wounded_at", value: localInput(new Date()) })),
    h("label", { class: "field" }, h("span", {}, t("casevac.incident")), h("input", { type: "number", name: "incident_id", min: 1, inputmode: "numeric" })),
    h("label", { class: "field" }, h("span", {}, t("casevac.note")), h("textarea", { name: "note", rows: 2, maxlength: 2000 })),
    err,
    h("div", { class: "actions end" },
      h("button", { type: "button", class: "secondary", onclick: () => { mode = "board"; render(); $("#casevac-new")?.focus(); } }, t("common.cancel")),
      h("button", { type: "submit", class: "primary", id: "casevac-submit" }, t("casevac.submit"))),
  );
  replace(body, form);
  place.focus();
}
