// The alerts panel: open and acknowledged alerts from the stream, newest and most
// severe first; acknowledge / resolve for those allowed; locate on the map; an
// optional short beep (WebAudio, no file) and a screen-reader announcement when a
// new alert arrives.

import { t, formatAgo, formatDateTime, onLangChange } from "./i18n.js";
import { api, describe } from "./api.js";
import { $, h, replace, announce, toast, storageGet, storageSet } from "./dom.js";
import { state, can, emit, on } from "./state.js";
import { askText } from "./dialogs.js";
import { openDispatch } from "./tasks.js";
import { mayDispatch } from "./ops.js";

const severityRank = { critical: 0, warning: 1, info: 2 };
const fresh = new Map(); // id → time first seen live, to highlight new alerts
let primed = false; // the first snapshot has arrived: alerts after it are new
let audio = null;
let tickTimer = 0;

export function initAlerts() {
  const sound = $("#alert-sound");
  sound.checked = storageGet("bluehelm.alertSound") === "1";
  sound.addEventListener("change", () => {
    storageSet("bluehelm.alertSound", sound.checked ? "1" : "0");
    if (sound.checked) {
      ensureAudio();
      beep("info"); // the user hears what they turned on
    }
  });
  // Browsers start audio only after a user gesture; a remembered "on" waits for
  // the first one.
  const unlock = () => {
    if (sound.checked) ensureAudio();
    window.removeEventListener("pointerdown", unlock);
    window.removeEventListener("keydown", unlock);
  };
  window.addEventListener("pointerdown", unlock);
  window.addEventListener("keydown", unlock);

  const toggle = $("#alerts-section .section-toggle");
  toggle.addEventListener("click", () => setExpanded(toggle.getAttribute("aria-expanded") !== "true"));
  setExpanded(storageGet("bluehelm.alertsExpanded") !== "0");

  $("#nav-alerts").addEventListener("click", () => {
    emit("show-alerts");
    setExpanded(true);
    const first = $("#alert-list li button, #alert-list li");
    (first || $("#alerts-section .section-toggle")).focus();
  });
  $("#alert-list").addEventListener("click", onListClick);
  onLangChange(render);
  on("me", render);
}

function setExpanded(on) {
  const toggle = $("#alerts-section .section-toggle");
  toggle.setAttribute("aria-expanded", String(on));
  $("#alerts-body").hidden = !on;
  $("#alerts-section").classList.toggle("collapsed", !on);
  storageSet("bluehelm.alertsExpanded", on ? "1" : "0");
}

export function resetAlerts() {
  state.alerts.clear();
  fresh.clear();
  primed = false;
  clearInterval(tickTimer);
  tickTimer = 0;
  render();
}

export function startAlerts() {
  clearInterval(tickTimer);
  // "3 minutes ago" must stay true on a wall screen nobody touches.
  tickTimer = setInterval(render, 30000);
}

// applyAlerts takes alerts from the stream (state, not deltas).
export function applyAlerts(list) {
  const arrived = [];
  for (const a of list) {
    const prev = state.alerts.get(a.id);
    if (prev && prev.version > a.version) continue;
    if (a.state === "resolved") {
      state.alerts.delete(a.id);
      fresh.delete(a.id);
      continue;
    }
    if (!prev && primed && a.state === "open") arrived.push(a);
    state.alerts.set(a.id, a);
  }
  state.map?.upsertAlerts?.(list);
  for (const a of arrived) fresh.set(a.id, Date.now());
  if (arrived.length) notify(arrived);
  render();
  emit("alerts", state.alerts);
}

// snapshotAlerts drops the alerts a completed snapshot did not name: they were
// resolved (or became invisible to us) while we were not listening.
export function snapshotAlerts(ids) {
  let changed = false;
  for (const id of [...state.alerts.keys()]) {
    if (!ids.has(id)) {
      state.alerts.delete(id);
      changed = true;
    }
  }
  if (changed) state.map?.setAlerts?.([...state.alerts.values()]);
  primed = true;
  render();
  emit("alerts", state.alerts);
}

function notify(arrived) {
  const worst = arrived.reduce((w, a) => (severityRank[a.severity] < severityRank[w] ? a.severity : w), "info");
  const text = arrived.length === 1 ? t("alerts.newOne", { title: arrived[0].title, severity: t("severity." + arrived[0].severity) }) : t("alerts.newMany", { count: arrived.length });
  announce(text, worst === "critical");
  if ($("#alert-sound").checked) beep(worst);
}

export function openAlertCount() {
  let n = 0;
  for (const a of state.alerts.values()) if (a.state === "open") n++;
  return n;
}

function sorted() {
  return [...state.alerts.values()].sort(
    (a, b) =>
      (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1) ||
      (severityRank[a.severity] ?? 3) - (severityRank[b.severity] ?? 3) ||
      Date.parse(b.raised_at) - Date.parse(a.raised_at) ||
      b.id - a.id,
  );
}

function render() {
  const list = $("#alert-list");
  if (!list) return;
  const now = Date.now();
  for (const [id, at] of fresh) if (now - at > 60000) fresh.delete(id);
  const items = sorted();
  const mayHandle = can("alert.handle");
  // Keep focus on the same alert's button across re-renders (they happen live).
  const active = document.activeElement;
  const focusKey = active && list.contains(active) ? [active.closest("li")?.dataset.id, active.dataset.action] : null;

  replace(
    list,
    items.map((a) => {
      const where = a.location || a.track_uid || a.area_id || a.incident_id;
      return h(
        "li",
        { class: `alert sev-${a.severity} state-${a.state}${fresh.has(a.id) ? " fresh" : ""}`, dataset: { id: a.id } },
        h(
          "div",
          { class: "alert-head" },
          h("span", { class: "sev-tag" }, t("severity." + a.severity, { fallback: a.severity })),
          // Monitoring alerts say what happened in the reader's words first; the
          // title (the server's sentence, with names and distances) follows.
          // Early-warning alerts are forecasts, not events: their tag says so
          // by its look as well as its words.
          a.rule ? h("span", { class: `rule-tag${a.source === "forecast" ? " forecast-tag" : ""}`, dataset: { rule: a.rule } }, ruleLabel(a)) : null,
          h("strong", { class: "alert-title" }, a.title),
        ),
        a.detail ? h("p", { class: "alert-detail" }, a.detail) : null,
        h(
          "p",
          { class: "alert-meta muted" },
          h("time", { datetime: a.raised_at, title: formatDateTime(a.raised_at) }, formatAgo(a.raised_at, now)),
          " · ",
          t("alert.source." + a.source, { fallback: a.source }),
          a.state === "acknowledged" ? [" · ", t("alerts.ackBy", { who: a.acknowledged_by || "" })] : null,
        ),
        h(
          "div",
          { class: "actions" },
          where || a.patrol_id ? h("button", { type: "button", class: "secondary", dataset: { action: "locate" } }, t("alerts.locate")) : null,
          a.patrol_id ? h("a", { class: "button secondary", href: `#/patrols/${a.patrol_id}`, dataset: { action: "patrol" } }, t("alerts.patrol")) : null,
          a.incident_id ? h("a", { class: "button secondary", href: `#/incidents/${a.incident_id}`, dataset: { action: "incident" } }, t("alerts.incident")) : null,
          mayDispatch() && a.location && a.state !== "resolved" ? h("button", { type: "button", class: "secondary", dataset: { action: "dispatch" } }, t("task.dispatch")) : null,
          mayHandle && a.state === "open" ? h("button", { type: "button", class: "primary", dataset: { action: "acknowledge" } }, t("alerts.acknowledge")) : null,
          mayHandle ? h("button", { type: "button", class: "secondary", dataset: { action: "resolve" } }, t("alerts.resolve")) : null,
        ),
      );
    }),
  );
  $("#alerts-empty").hidden = items.length > 0;
  if (focusKey) {
    const el = list.querySelector(`li[data-id="${focusKey[0]}"] [data-action="${focusKey[1]}"]`) || list.querySelector(`li[data-id="${focusKey[0]}"] button`);
    el?.focus();
  }

  const open = openAlertCount();
  const critical = items.some((a) => a.state === "open" && a.severity === "critical");
  for (const badge of [$("#alert-count"), $("#alerts-open-count")]) {
    badge.textContent = String(open);
    badge.hidden = open === 0;
    badge.classList.toggle("critical", critical);
  }
  $("#nav-alerts").setAttribute("aria-label", t("nav.alertsCount", { count: open }));
}

async function onListClick(ev) {
  const btn = ev.target.closest("button[data-action]");
  if (!btn) return;
  const id = Number(btn.closest("li").dataset.id);
  const a = state.alerts.get(id);
  if (!a) return;
  switch (btn.dataset.action) {
    case "locate":
      locate(a);
      break;
    case "dispatch":
      await openDispatch({ alert: a });
      break;
    case "acknowledge":
      await act(btn, a, "acknowledge", {}, t("alerts.forbidAck"));
      break;
    case "resolve": {
      const resolution = await askText({ title: t("alerts.resolveTitle", { title: a.title }), label: t("alerts.resolution"), ok: t("alerts.resolve"), required: false, maxLength: 2000 });
      if (resolution === null) return;
      await act(btn, a, "resolve", { resolution }, t("alerts.forbidResolve"));
      break;
    }
  }
}

async function act(btn, a, action, body, what) {
  btn.disabled = true;
  try {
    const updated = await api(`/api/v1/alerts/${a.id}/${action}`, { method: "POST", body, ifMatch: a.version });
    applyAlerts([updated]);
    announce(action === "acknowledge" ? t("alerts.acked", { title: a.title }) : t("alerts.resolved", { title: a.title }));
  } catch (e) {
    toast(describe(e, what), "error");
    if (e.kind === "stale" || e.kind === "conflict") {
      // Someone else handled it first: show what it is now.
      try {
        const r = await api(`/api/v1/alerts?state=open,acknowledged,resolved&limit=1000`);
        const cur = r.alerts.find((x) => x.id === a.id);
        if (cur) applyAlerts([cur]);
      } catch {
        /* the stream will catch up */
      }
    }
  } finally {
    btn.disabled = false;
  }
}

function locate(a) {
  emit("show-map");
  const m = state.map;
  if (!m) return;
  if (a.location?.coordinates) {
    const [lon, lat] = a.location.coordinates;
    m.flyTo?.({ lon, lat, zoom: 13 });
    // A near-repeat window is about a route: the patrol's is drawn with the place.
    if (a.patrol_id && a.rule === "near_repeat") {
      api(`/api/v1/patrols/${a.patrol_id}`)
        .then((p) => {
          const line = p?.route?.coordinates;
          if (line?.length) m.showRoute?.(line, p.risk?.segments || null);
        })
        .catch((e) => toast(describe(e), "error"));
    }
  } else if (a.patrol_id) {
    // A late start has no place of its own: the patrol's route is where to look.
    api(`/api/v1/patrols/${a.patrol_id}`)
      .then((p) => {
        const line = p?.route?.coordinates;
        if (line?.length) {
          m.showRoute?.(line, p.risk?.segments || null);
          m.fitLine?.(line);
        }
      })
      .catch((e) => toast(describe(e), "error"));
  }
  m.highlightAlert?.(a.id);
}

// focusAlert is the map's "alert clicked": show it in the list.
export function focusAlert(id) {
  setExpanded(true);
  const li = $(`#alert-list li[data-id="${id}"]`);
  if (li) {
    li.scrollIntoView({ block: "nearest" });
    li.classList.add("flash");
    setTimeout(() => li.classList.remove("flash"), 1500);
    (li.querySelector("button") || li).focus();
  }
}

function ensureAudio() {
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  } catch {
    audio = null;
  }
}

// beep plays a short tone: one for info, two for a warning, three higher for critical.
function beep(severity) {
  ensureAudio();
  if (!audio || audio.state !== "running") return;
  const n = severity === "critical" ? 3 : severity === "warning" ? 2 : 1;
  const freq = severity === "critical" ? 1046 : 880;
  const t0 = audio.currentTime + 0.02;
  for (let i = 0; i < n; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const s = t0 + i * 0.22;
    gain.gain.setValueAtTime(0.0001, s);
    gain.gain.exponentialRampToValueAtTime(0.25, s + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, s + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(s);
    osc.stop(s + 0.18);
  }
}

// ruleLabel names what raised an alert in the reader's words. The same rule name
// can mean different things by source (a forecast's threshold is a risk level, a
// sensor's a reading), so a label for the source and rule comes first.
function ruleLabel(a) {
  return t(`alert.rule.${a.source}.${a.rule}`, { fallback: t("alert.rule." + a.rule, { fallback: a.rule }) });
}
