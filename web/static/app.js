// bluehelm web app: sign-in and session, the header, routes (#/map,
// #/incidents/{id}, #/patrols[/{id}[/edit]|/new], #/tasks, #/dashboard,
// #/camp[/{id}]), the live
// stream feeding the map and the panels.
// Plain ES modules, no build step: what is in web/static is what the browser runs.

import { t, lang, setLang, initialLanguage, loadMapMessages, onLangChange, formatTime, languages } from "./i18n.js";
import { api, optional, setCSRF, onSessionLost, describe, abortAll } from "./api.js";
import { createStream } from "./stream.js";
import { $, h, replace, announce, toast, storageGet, storageSet } from "./dom.js";
import { state, emit, on, roleLabel, componentLabel, clearFilters, setCategoryColours } from "./state.js";
import { initAlerts, applyAlerts, snapshotAlerts, resetAlerts, startAlerts, focusAlert } from "./alerts.js";
import { initIncidents, resetIncidents, startIncidents, feedMap, prefetchMap, prefetchedMap, reloadAll, applyLiveIncidents, showList, openDetail, openNew, openEdit } from "./incidents.js";
import { initDashboard, resetDashboard, showDashboard } from "./dashboard.js";
import { applyOperations, snapshotOperations, resetOps } from "./ops.js";
import { initPatrols, resetPatrols, showPatrols, openPlan, openPatrol, openPatrolForm } from "./patrols.js";
import { initTasks, resetTasks, showTasks } from "./tasks.js";
import { initCamp, resetCamp, showCamp } from "./camp.js";
import { initCasevac, resetCasevac, showCasevac } from "./casevac.js";
import { initCommunity, resetCommunity, showCommunity } from "./community.js";

const signedInHint = "bluehelm.signedIn";
let stream = null;
let sessionTimers = [];
let snapshots = 0;
const tracks = new Set(); // uids on the map, to drop those a snapshot no longer names
let suspendedUser = ""; // who was signed in when the session ended, to resume their work
let mapPromise = null;
let started = false;
let startGen = 0; // which sign-in a start() belongs to, for the steps it awaits

// --- theme and text size (per device: a wall screen and a tablet differ) -------

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const dark = theme === "dark";
  const b = $("#theme-toggle");
  b.setAttribute("aria-pressed", String(dark));
  storageSet("bluehelm.theme", theme);
  emit("theme", theme);
}

function applySize(large) {
  document.documentElement.dataset.size = large ? "large" : "normal";
  $("#size-toggle").setAttribute("aria-pressed", String(large));
  storageSet("bluehelm.size", large ? "large" : "normal");
  state.map?.resize?.();
  emit("theme");
}

// --- views ---------------------------------------------------------------------

function showLogin(notice = "") {
  $("#login-view").hidden = false;
  $("#app").hidden = true;
  for (const id of ["#nav", "#conn-status", "#user-box", "#logout", "#track-count", "#panel-toggle"]) $(id).hidden = true;
  $("#login-notice").hidden = !notice;
  $("#login-notice").textContent = notice;
  $("#login-error").textContent = "";
  const f = $("#login");
  f.elements.password.value = "";
  (f.elements.username.value ? f.elements.password : f.elements.username).focus();
}

function showApp() {
  $("#login-view").hidden = true;
  $("#app").hidden = false;
  for (const id of ["#nav", "#conn-status", "#user-box", "#logout"]) $(id).hidden = false;
}

// Views: the map with the alerts and incidents beside it; the patrol planner and
// the task board, which keep the map and take the side panel; the dashboard.
const panelViews = ["patrols", "tasks", "casevac", "community"];

function setView(name) {
  const onMap = name === "map" || panelViews.includes(name);
  $("#view-map").hidden = !onMap;
  $("#view-dashboard").hidden = name !== "dashboard";
  $("#view-camp").hidden = name !== "camp";
  $("#panel-toggle").hidden = !onMap;
  const wasPanel = $("#view-map").dataset.panel || "";
  $("#view-map").dataset.panel = panelViews.includes(name) ? name : "";
  for (const id of ["#alerts-section", "#incidents-section"]) $(id).hidden = name !== "map";
  $("#patrols-section").hidden = name !== "patrols";
  $("#tasks-section").hidden = name !== "tasks";
  $("#casevac-section").hidden = name !== "casevac";
  $("#community-section").hidden = name !== "community";
  for (const [id, v] of [["#nav-map", "map"], ["#nav-patrols", "patrols"], ["#nav-tasks", "tasks"], ["#nav-casevac", "casevac"], ["#nav-dashboard", "dashboard"], ["#nav-camp", "camp"], ["#nav-community", "community"]]) {
    if (v === name) $(id).setAttribute("aria-current", "page");
    else $(id).removeAttribute("aria-current");
  }
  showDashboard(name === "dashboard");
  if (name !== "camp") showCamp(false);
  showPatrols(name === "patrols");
  showTasks(name === "tasks");
  showCasevac(name === "casevac");
  showCommunity(name === "community");
  if (onMap) requestAnimationFrame(() => state.map?.resize?.());
  if (panelViews.includes(name) && wasPanel !== name) showPanel(true);
  document.title = t(name === "casevac" ? "casevac.pageTitle" : "title." + name);
}

function route() {
  if (!started) return;
  const hash = location.hash || "#/map";
  let m;
  if (hash.startsWith("#/dashboard")) {
    setView("dashboard");
  } else if ((m = hash.match(/^#\/camp(?:\/(\d+))?$/))) {
    setView("camp");
    showCamp(true, Number(m[1] || 0));
  } else if (hash === "#/tasks") {
    setView("tasks");
  } else if (hash === "#/casevac") {
    setView("casevac");
  } else if (hash === "#/community") {
    setView("community");
  } else if (hash === "#/patrols/new") {
    setView("patrols");
    openPatrolForm(null);
  } else if ((m = hash.match(/^#\/patrols\/(\d+)\/edit$/))) {
    setView("patrols");
    openPatrolForm(Number(m[1]));
  } else if ((m = hash.match(/^#\/patrols\/(\d+)$/))) {
    setView("patrols");
    openPatrol(Number(m[1]));
  } else if (hash.startsWith("#/patrols")) {
    if (hash !== "#/patrols") history.replaceState(null, "", "#/patrols");
    setView("patrols");
    openPlan();
  } else if ((m = hash.match(/^#\/incidents\/(\d+)\/edit$/))) {
    setView("map");
    openEdit(Number(m[1]));
  } else if ((m = hash.match(/^#\/incidents\/(\d+)$/))) {
    setView("map");
    openDetail(Number(m[1]));
  } else if (hash === "#/incidents/new") {
    setView("map");
    openNew();
  } else {
    if (hash !== "#/map") history.replaceState(null, "", "#/map");
    setView("map");
    showList();
  }
}

// --- side panel ----------------------------------------------------------------

function panelOpen() {
  return !$("#view-map").classList.contains("panel-closed");
}

// showPanel opens or closes the side panel. On a narrow screen the panel covers
// the map, so picking a place or drawing an area closes it for the moment.
function showPanel(open, remember = false) {
  const wide = window.innerWidth >= 1100;
  if (!open && wide && !remember) return; // on a wide screen the map is visible beside it
  $("#view-map").classList.toggle("panel-closed", !open);
  $("#panel-toggle").setAttribute("aria-expanded", String(open));
  if (remember) storageSet("bluehelm.panel", open ? "open" : "closed");
  setTimeout(() => state.map?.resize?.(), 220);
}

// --- map -----------------------------------------------------------------------

// A stand-in with the MapView methods, for when the map module cannot load: the
// panels keep working and the user is told why there is no map.
function unavailableMap(reason) {
  const noop = () => {};
  replace($("#map"), h("div", { class: "map-missing" }, h("p", {}, t("map.unavailable")), reason ? h("p", { class: "muted small" }, reason) : null));
  return {
    unavailable: true, upsertTracks: noop, removeTracks: noop, setIncidents: noop, upsertIncidents: noop, setAreas: noop, upsertAreas: noop,
    removeArea: noop, setAlerts: noop, upsertAlerts: noop, setIncidentTimeFilter: noop, flyTo: noop, highlightIncident: noop,
    highlightAlert: noop, pickPoint: async () => { toast(t("map.unavailable"), "error"); return null; },
    drawPolygon: async () => { toast(t("map.unavailable"), "error"); return null; }, setLive: noop, bbox: () => [-180, -90, 180, 90], resize: noop, destroy: noop,
  };
}

// mapModule imports the map's code once (again after a failure).
let mapImport = null;
function mapModule() {
  if (!mapImport) {
    mapImport = import("/map/map.js");
    mapImport.catch(() => { mapImport = null; });
  }
  return mapImport;
}

// warmMap loads the map's code and starts what it needs (see prewarm in map.js)
// while nothing else is going on: the sign-in form is up, or /me is on its way.
function warmMap() {
  const go = () => mapModule().then((m) => m.prewarm?.()).catch(() => { /* createMapView reports it */ });
  if (window.requestIdleCallback) requestIdleCallback(go, { timeout: 200 });
  else setTimeout(go, 0);
}

async function createMapView() {
  const container = $("#map");
  try {
    const mod = await mapModule();
    state.map = await mod.createMap(container, {
      api: (path, init) => api(path, init),
      config: state.config,
      incidents: prefetchedMap(),
      onIncidentClick: (id) => {
        location.hash = `#/incidents/${id}`;
      },
      onAlertClick: (id) => {
        showPanel(true);
        focusAlert(id);
      },
      onTrackClick: () => {}, // the map opens the track's own popup; the panels have nothing to add
      onPatrolClick: (id) => {
        location.hash = `#/patrols/${id}`;
      },
      onTaskClick: () => {
        location.hash = "#/tasks";
      },
      onViewChange: () => {},
    });
  } catch (e) {
    console.warn("map module not available", e);
    state.map = unavailableMap(String(e?.message || ""));
  }
  return state.map;
}

// --- stream ----------------------------------------------------------------------

function onBatch(b) {
  const m = state.map;
  if (b.tracks.size) {
    const list = [...b.tracks.values()];
    for (const s of list) tracks.add(s.uid);
    m?.upsertTracks?.(list);
  }
  if (b.left.size) {
    const gone = [...b.left].filter((u) => tracks.delete(u));
    if (gone.length) m?.removeTracks?.(gone);
  }
  if (b.areas.size) {
    for (const a of b.areas.values()) state.areas.set(a.id, a);
    m?.upsertAreas?.([...b.areas.values()]);
  }
  for (const id of b.areasDeleted) {
    state.areas.delete(id);
    m?.removeArea?.(id);
  }
  if (b.alerts.size) applyAlerts([...b.alerts.values()]);
  if (b.incidents.size) applyLiveIncidents([...b.incidents.values()]);
  if (b.patrols?.size || b.tasks?.size) applyOperations([...(b.patrols?.values() || [])], [...(b.tasks?.values() || [])]);
  if (b.snapshotEnd) {
    const seen = b.snapshotEnd;
    // An empty picture is a picture too: the map counts it as drawn.
    if (!b.tracks.size) m?.upsertTracks?.([]);
    const gone = [...tracks].filter((u) => !seen.tracks.has(u));
    for (const u of gone) tracks.delete(u);
    if (gone.length) m?.removeTracks?.(gone);
    for (const id of [...state.areas.keys()]) {
      if (!seen.areas.has(id)) {
        state.areas.delete(id);
        m?.removeArea?.(id);
      }
    }
    snapshotAlerts(seen.alerts);
    if (seen.patrols) snapshotOperations(seen);
    // Any snapshot after the first follows a gap (reconnect or resync): changes
    // to reports may have been missed, so the list and map are fetched again.
    if (snapshots++ > 0) reloadAll();
  }
  state.trackCount = tracks.size;
  const tc = $("#track-count");
  tc.hidden = tracks.size === 0;
  tc.textContent = t("header.tracks", { count: tracks.size });
}

function onStreamState(s, since) {
  const el = $("#conn-status");
  const prev = el.dataset.state;
  el.dataset.state = s;
  const text = el.querySelector(".conn-text");
  const banner = $("#offline-banner");
  if (s === "live") {
    text.textContent = t("conn.live");
    banner.hidden = true;
    $("#reconnect").hidden = true;
    if (prev === "offline") announce(t("conn.backOnline"));
  } else if (s === "connecting") {
    text.textContent = t("conn.connecting");
    $("#reconnect").hidden = true;
  } else {
    const at = since ? formatTime(since) : "";
    text.textContent = at ? t("conn.offlineSince", { time: at }) : t("conn.offline");
    banner.hidden = false;
    banner.textContent = at ? t("conn.offlineBanner", { time: at }) : t("conn.offline");
    $("#reconnect").hidden = false;
    if (prev === "live") announce(text.textContent, true);
  }
}

// onAuthLost: the server closed the stream because our credentials changed (4001).
// Ask who we are now; false stops the reconnect when we are signed out.
async function onAuthLost() {
  try {
    const me = await api("/api/v1/me", { quiet401: true });
    applyMe(me);
    return true;
  } catch (e) {
    if (e.kind === "unauthenticated") {
      sessionEnded(t("session.ended"));
      return false;
    }
    return true; // a network failure: the stream's backoff deals with it
  }
}

// --- session -------------------------------------------------------------------

function applyMe(me) {
  state.me = me;
  setCSRF(me.csrf_token);
  const u = me.user;
  $("#user-name").textContent = u.name || u.username;
  $("#user-name").title = u.username;
  $("#user-role").textContent = `${roleLabel(u.role)} · ${componentLabel(u.component)}`;
  scheduleExpiry(me.expires_at);
  emit("me", me);
}

function scheduleExpiry(expiresAt) {
  for (const timer of sessionTimers) clearTimeout(timer);
  sessionTimers = [];
  $("#session-banner").hidden = true;
  if (!expiresAt) return;
  const end = Date.parse(expiresAt);
  const warnAt = end - 5 * 60000;
  const now = Date.now();
  // setTimeout holds at most ~24.8 days; sessions are much shorter, but clamp.
  const later = (fn, at) => sessionTimers.push(setTimeout(fn, Math.min(Math.max(0, at - now), 2 ** 31 - 1)));
  later(() => {
    const b = $("#session-banner");
    b.hidden = false;
    b.textContent = t("session.warn", { time: formatTime(new Date(end)) });
  }, warnAt);
  later(() => sessionEnded(t("session.expired")), end);
}

// sessionEnded returns to the sign-in page without throwing the work away: a
// report being typed is still there when the same user signs in again.
function sessionEnded(notice) {
  // Late answers to requests made before the end arrive here too: the sign-in
  // page is already up, and must not be reset under the user's fingers.
  if (!started || !$("#login-view").hidden) return;
  suspendedUser = state.me?.user?.username || "";
  stream?.stop();
  for (const timer of sessionTimers) clearTimeout(timer);
  $("#session-banner").hidden = true;
  storageSet(signedInHint, "");
  const f = $("#login");
  f.elements.username.value = suspendedUser;
  showLogin(notice);
}

async function signIn(ev) {
  ev.preventDefault();
  const f = ev.target;
  if ($("#login-submit").dataset.waiting || $("#login-submit").disabled) return; // rate-limited, or already on its way
  const err = $("#login-error");
  err.textContent = "";
  const username = f.elements.username.value.trim();
  const password = f.elements.password.value;
  if (!username || !password) {
    err.textContent = t("login.missing");
    (username ? f.elements.password : f.elements.username).focus();
    return;
  }
  const btn = $("#login-submit");
  btn.disabled = true;
  try {
    const me = await api("/api/v1/login", { method: "POST", body: { username, password }, quiet401: true });
    storageSet(signedInHint, "1");
    f.elements.password.value = "";
    await start(me);
  } catch (e) {
    f.elements.password.value = "";
    if (e.kind === "ratelimit") {
      waitOut(btn, e.retryAfter || 60);
      return;
    }
    err.textContent = e.kind === "unauthenticated" ? t("login.failed") : e.kind === "invalid" ? t("login.missing") : describe(e);
    f.elements.password.focus();
  } finally {
    if (!btn.dataset.waiting) btn.disabled = false;
  }
}

// waitOut keeps the sign-in button off while the server's rate limit lasts, and
// says how long is left.
function waitOut(btn, seconds) {
  const err = $("#login-error");
  btn.disabled = true;
  btn.dataset.waiting = "1";
  let left = Math.ceil(seconds);
  err.textContent = t("login.tooMany", { n: left });
  const timer = setInterval(() => {
    left--;
    if (left <= 0) {
      clearInterval(timer);
      delete btn.dataset.waiting;
      btn.disabled = false;
      err.textContent = "";
      return;
    }
    // Rewrite only every 5 s: a role=alert that changes each second is noise for
    // screen-reader users.
    if (left % 5 === 0) err.textContent = t("login.tooMany", { n: left });
  }, 1000);
}

async function signOut() {
  try {
    await api("/api/v1/logout", { method: "POST", quiet401: true });
  } catch {
    /* signed out here anyway */
  }
  storageSet(signedInHint, "");
  teardown();
  history.replaceState(null, "", "#/map");
  $("#login").elements.username.value = "";
  showLogin(t("session.signedOut"));
}

function teardown() {
  started = false;
  stream?.stop();
  abortAll();
  for (const timer of sessionTimers) clearTimeout(timer);
  sessionTimers = [];
  state.me = null;
  setCSRF("");
  suspendedUser = "";
  tracks.clear();
  state.areas.clear();
  snapshots = 0;
  resetAlerts();
  resetIncidents();
  resetDashboard();
  resetPatrols();
  resetTasks();
  resetCamp();
  resetCasevac();
  resetCommunity();
  resetOps();
  clearFilters();
  if (state.map && !state.map.unavailable) {
    try {
      state.map.destroy?.();
    } catch (e) {
      console.warn("map destroy", e);
    }
  }
  state.map = null;
  mapPromise = null;
  replace($("#map"));
}

async function start(me) {
  const resuming = started && suspendedUser && suspendedUser === me.user.username;
  if (started && !resuming) teardown();
  applyMe(me);
  if (me.user.language && me.user.language !== lang()) await setLang(me.user.language);
  showApp();
  if (resuming) {
    // The same person, back after an expired session: everything they had open
    // is still here; only the stream and the data need refreshing.
    suspendedUser = "";
    stream.start();
    return;
  }
  started = true;
  const gen = ++startGen;
  snapshots = 0;
  // The first picture needs the map's code, the incidents and the stream's snapshot
  // of the tracks: all three are asked for now, in parallel, rather than one after
  // the other. The stream's batches are kept until the map can take them.
  mapModule().catch(() => {});
  prefetchMap();
  stream.hold();
  stream.start();
  const [config, taxonomy] = await Promise.all([
    optional("/api/v1/config").catch(() => null),
    api("/api/v1/taxonomy").catch((e) => {
      toast(describe(e), "error");
      return null;
    }),
  ]);
  if (config) state.config = { ...state.config, ...config };
  if (taxonomy) {
    state.taxonomy = taxonomy;
    emit("taxonomy", taxonomy);
  }
  if (!mapPromise) mapPromise = createMapView();
  // What is not part of the first picture waits for it (see loadTotal): on a
  // laptop's two cores every request answered meanwhile is CPU the picture lacks.
  state.mapShown = mapPromise.then((m) => Promise.race([m?.ready, new Promise((r) => setTimeout(r, 10000))])).catch(() => {});
  const panelPref = storageGet("bluehelm.panel");
  showPanel(panelPref ? panelPref === "open" : window.innerWidth >= 1100, true);
  route();
  startAlerts();
  // The list does not need the map: it loads while the map starts.
  startIncidents();
  await mapPromise;
  if (!started || gen !== startGen) return;
  feedMap();
  stream.release();
}

// --- header controls ---------------------------------------------------------------

async function changeLanguage(code) {
  await setLang(code);
  const panel = $("#view-map").dataset.panel;
  document.title = t(!$("#view-dashboard").hidden ? "title.dashboard" : !$("#view-camp").hidden ? "title.camp" : panel ? "title." + panel : "title.map");
  if (!state.me || !state.features.preferences) return;
  try {
    const me = await optional("/api/v1/me/preferences", { method: "PUT", body: { language: code } });
    if (me === null) state.features.preferences = false;
    else if (me?.user) applyMe(me);
  } catch (e) {
    // The switch works on this device anyway; it is only not remembered.
    console.warn("saving the language preference", describe(e));
  }
}

function wireHeader() {
  const sel = $("#lang");
  replace(sel, languages.map((l) => h("option", { value: l.code, lang: l.code }, l.name)));
  sel.value = lang();
  sel.addEventListener("change", () => changeLanguage(sel.value));
  onLangChange((code) => {
    if ([...sel.options].some((o) => o.value === code)) sel.value = code;
    if (state.me) applyMe(state.me);
    const el = $("#conn-status");
    if (stream) onStreamState(el.dataset.state, stream.since());
    const tc = $("#track-count");
    tc.textContent = t("header.tracks", { count: tracks.size });
  });
  $("#theme-toggle").addEventListener("click", () => applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark"));
  $("#size-toggle").addEventListener("click", () => applySize(document.documentElement.dataset.size !== "large"));
  $("#logout").addEventListener("click", signOut);
  $("#login").addEventListener("submit", signIn);
  $("#reconnect").addEventListener("click", () => stream?.reconnectNow());
  $("#panel-toggle").addEventListener("click", () => showPanel(!panelOpen(), true));
  on("show-alerts", () => {
    if (!$("#view-dashboard").hidden || !$("#view-camp").hidden || $("#view-map").dataset.panel) location.hash = "#/map";
    showPanel(true);
  });
  on("show-map", () => {
    if (!$("#view-dashboard").hidden || !$("#view-camp").hidden) location.hash = "#/map";
    showPanel(window.innerWidth >= 1100);
  });
  on("route", route);
  window.addEventListener("hashchange", route);
  // Esc on the map view closes the side panel on a narrow screen (it covers the map).
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || ev.defaultPrevented || document.querySelector("dialog[open]")) return;
    if (window.innerWidth < 1100 && panelOpen() && !$("#view-map").hidden && $("#side-panel").contains(document.activeElement)) {
      showPanel(false, true);
      $("#panel-toggle").focus();
    }
  });
}

// --- boot ------------------------------------------------------------------------

async function boot() {
  applyTheme(storageGet("bluehelm.theme", "dark"));
  applySize(storageGet("bluehelm.size") === "large");
  await setLang(initialLanguage());
  loadMapMessages();
  // The map's category colours, so that a colour means the same on the map, in
  // the list and in the charts.
  import("/map/palette.js").then((m) => setCategoryColours(m.categoryColors)).catch(() => {});
  wireHeader();
  initAlerts();
  initIncidents({
    pickPoint: async () => {
      showPanel(false);
      announce(t("form.pickAnnounce"));
      try {
        return await state.map?.pickPoint?.();
      } finally {
        showPanel(true);
      }
    },
    showPanel: (open) => showPanel(open),
  });
  initDashboard();
  initPatrols({ showPanel: (open) => showPanel(open) });
  initTasks();
  initCamp();
  initCasevac({
    showPanel: (open) => showPanel(open),
    pickPoint: async () => {
      showPanel(false);
      announce(t("form.pickAnnounce"));
      try {
        return await state.map?.pickPoint?.();
      } finally {
        showPanel(true);
      }
    },
  });
  initCommunity();
  stream = createStream({ onBatch, onState: onStreamState, onAuthLost });
  onSessionLost(() => sessionEnded(t("session.ended")));

  // Without the hint this browser has not signed in lately: go straight to the
  // sign-in page instead of asking /me for a 401 that only fills the console.
  warmMap();
  if (storageGet(signedInHint) === "1") {
    try {
      const me = await api("/api/v1/me", { quiet401: true });
      await start(me);
      return;
    } catch (e) {
      if (e.kind !== "unauthenticated") {
        showLogin(describe(e));
        return;
      }
      storageSet(signedInHint, "");
    }
  }
  showLogin();
}

boot().catch((e) => {
  console.error("starting the app", e);
});

// For end-to-end tests and the console: the app's state, read-only by convention.
window.bluehelmApp = { state, version: 1 };
