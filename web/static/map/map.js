// The live map of the common operating picture: tracks, incidents, areas and alerts
// over an offline basemap, with its own controls (layers, legend, coordinates,
// search, time slider). See createMap for the interface the app uses.
import * as maplibregl from "/vendor/maplibre-gl/maplibre-gl.mjs";
import { baseStyle, applyTheme, addStaticImages, layerGroups, basemapLayerIds } from "./layers.js";
import { loadBasemap } from "./basemap.js";
import { loadMilsymbol, symbolImage } from "./symbols.js";
import { Tracks } from "./tracks.js";
import { Incidents } from "./incidents.js";
import { Areas } from "./areas.js";
import { Alerts } from "./alerts.js";
import { Operations, operationsLayerIds } from "./operations.js";
import { RiskLayer, riskLayerIds } from "./forecast.js";
import { Interactions } from "./draw.js";
import { TimeSlider } from "./timeslider.js";
import { createSearch } from "./search.js";
import { createToolbar, createCoords, createAttribution } from "./ui.js";
import { formatMGRS } from "./coords.js";
import { el, tr, onLang, retranslate, ensureStylesheet, fc, relTime, dateTime, FrameMeter } from "./util.js";

const VIEW_KEY = "bluehelm.map.view";
const LAYERS_KEY = "bluehelm.map.layers";
const DEFAULT_VIEW = { lon: 20, lat: 5, zoom: 3 };
const LOADING_PIXEL_RATIO = 0.125; // see reveal in createMap

// prewarm starts what every map needs and nobody has to wait for: the worker that
// cuts the map's sources into tiles, the symbol library, the basemap (fetched and
// converted) and the stylesheets. The app calls it while the sign-in form is shown,
// so that all of it is done, off the way to the first picture, by the time the user
// has typed a password.
export function prewarm() {
  maplibregl.prewarm();
  ensureStylesheet("/vendor/maplibre-gl/maplibre-gl.css");
  ensureStylesheet("/map/map.css");
  loadMilsymbol().catch(() => {}); // reported by createMap, which awaits them again
  loadBasemap().catch(() => {});
}

// createMap builds the map inside container and resolves, once the style is loaded,
// to the MapView the app drives:
//
//   upsertTracks(trackStates) removeTracks(uids) setIncidents(columns)
//   upsertIncidents(incidents) setAreas(areas) upsertAreas(areas) removeArea(id)
//   setAlerts(alerts) upsertAlerts(alerts) setIncidentTimeFilter(from, to)
//   flyTo({lon, lat, zoom}) highlightIncident(id) highlightAlert(id)
//   pickPoint() → {lon, lat}|null   drawPolygon() → [[lon, lat], …, first]|null
//   drawLine(start) → [[lon, lat], …]|null   setOperations(patrols, tasks)
//   upsertOperations(patrols, tasks) showRoute(line, segments) fitLine(line)
//   setLive(bool) bbox() → [w, s, e, n] resize() destroy()
//   ready: a promise, as window.bluehelmMapReady below
//
// opts: {api(path, init) → json, config (GET /api/v1/config), onIncidentClick(id),
// onAlertClick(id), onTrackClick(uid), onPatrolClick(id), onTaskClick(id),
// onViewChange(bbox), onLiveChange(live),
// incidents (a promise of what setIncidents will be given, drawn as soon as it can)}.
// window.bluehelmMap is the maplibre Map, and window.bluehelmMapReady resolves at
// the first "idle" after tracks (upsertTracks, even with []) and the whole set of
// incidents (setIncidents) have been given and the basemap is drawn. Incidents from
// the stream (upsertIncidents) do not count: its snapshot carries only the latest
// few hundred, and the first picture must not be called complete without the rest.
// Steps are marked on the performance timeline as "bluehelm-map:create", "style",
// "milsymbol", "basemap", "data" (all given) and "ready".
export async function createMap(container, opts = {}) {
  // Marks on the page's performance timeline, for benchmarks and profiling.
  const mark = (name) => performance.mark?.("bluehelm-map:" + name);
  mark("create");
  ensureStylesheet("/vendor/maplibre-gl/maplibre-gl.css");
  ensureStylesheet("/map/map.css");
  const config = opts.config || {};
  const basemap = config.basemap && typeof config.basemap === "object" ? config.basemap : null;
  const staleAfter = Number(config.stale_after_seconds) > 0 ? Number(config.stale_after_seconds) : 300;
  const api = opts.api || defaultApi;
  const call = (name, ...args) => {
    try {
      opts[name]?.(...args);
    } catch (e) {
      console.error(e); // the app's handler failed; the map goes on
    }
  };

  let readyResolve;
  const ready = new Promise((r) => { readyResolve = r; });
  window.bluehelmMapReady = ready;
  const flags = { tracks: false, incidents: false, basemap: false, loaded: false, armed: false };

  container.classList.add("bh-map");
  let theme = currentTheme();
  container.dataset.bhTheme = theme;

  // The risk forecast is off until asked for: it covers the map and is fetched
  // only while shown.
  const layerState = { tracks: true, trails: true, labels: true, incidents: true, areas: true, alerts: true, operations: true, risk: false, graticule: true, basemap: true };
  try {
    Object.assign(layerState, JSON.parse(localStorage.getItem(LAYERS_KEY) || "{}"));
  } catch { /* a broken saved state is forgotten */ }
  let savedView = null;
  try {
    const v = JSON.parse(localStorage.getItem(VIEW_KEY) || "null");
    if (v && Number.isFinite(v.lon) && Number.isFinite(v.lat) && Number.isFinite(v.zoom)) savedView = v;
  } catch { /* idem */ }
  const view = savedView || DEFAULT_VIEW;

  const msPromise = loadMilsymbol().then((m) => (mark("milsymbol"), m));
  const basemapPromise = loadBasemap().then((b) => (mark("basemap"), b));
  // Failures are reported where they are awaited; this keeps an early rejection
  // from counting as unhandled.
  msPromise.catch(() => {});
  basemapPromise.catch(() => {});

  const map = new maplibregl.Map({
    container,
    style: baseStyle(theme, basemap),
    center: [view.lon, view.lat],
    zoom: view.zoom,
    minZoom: 1,
    maxZoom: 19,
    attributionControl: false,
    maplibreLogo: false,
    pitchWithRotate: false,
    touchPitch: false,
    dragRotate: false,
    renderWorldCopies: true,
    locale: { "Map.Title": tr("map.aria.canvas") },
    // Symbols appear without a fade: a fade is 300 ms of frames after every update,
    // and with 2,000 tracks updating that is a map that never rests.
    fadeDuration: 0,
    // Drawn tiny while hidden (see reveal).
    pixelRatio: LOADING_PIXEL_RATIO,
  });
  map.touchZoomRotate.disableRotation();
  window.bluehelmMap = map;

  // The whole set of incidents, when the app has it on its way already
  // (opts.incidents, a promise of the /api/v1/incidents/map answer), is clustered
  // as soon as the style's sources exist rather than after "load": until the first
  // picture's data is all there the map's worker is mostly idle, and after it,
  // cutting every source's tiles at the framed view keeps it busy to the end.
  const incidents = new Incidents(map);
  if (opts.incidents) {
    const styled = new Promise((resolve) => map.once("style.load", resolve));
    Promise.all([opts.incidents, styled]).then(([cols]) => {
      if (destroyed || !cols || flags.incidents) return;
      incidents.set(cols);
      incidents.flushNow();
      flags.incidents = true;
      checkReady();
    }).catch(() => { /* the app's own request reports it and calls setIncidents */ });
  }

  // The map is drawn hidden until the first picture is complete: every frame shown
  // while sources load is composited by the browser, and on a software-rendered
  // browser (a tablet without GPU acceleration, a headless test) each of those costs
  // more than the drawing itself. A loading notice stands in meanwhile.
  //
  // Hidden frames are not free either: the map draws a frame each time a tile of
  // one of its sources arrives (two dozen before the first picture is complete), and
  // a software renderer fills every pixel of each: ~100 ms of CPU a frame for a
  // map of 720×720 pixels, which the page, the worker and the server then lack, and
  // which the first visible frame waits for (it is queued behind them). So while hidden the map draws
  // into a canvas an eighth the size (LOADING_PIXEL_RATIO): tiles, layout and symbol
  // placement are the same (they work in CSS pixels), only the pixels are fewer.
  // reveal draws the full-size frame once.
  container.classList.add("bh-loading");
  const loadingNote = el("div", { class: "bh-loading-note", role: "status", i18n: "map.loading" });
  container.append(loadingNote);
  let revealed = false;
  const reveal = () => {
    if (revealed) return;
    revealed = true;
    map.setPixelRatio(null); // back to the device's
    container.classList.remove("bh-loading");
    loadingNote.remove();
    map.triggerRepaint();
  };
  // Whatever happens to the data (no stream, an error), the map shows after a while.
  let destroyed = false;
  let unhold = null; // set once the overlays exist: draws them even if never armed
  const revealTimer = setTimeout(() => {
    reveal();
    unhold?.();
  }, 6000);

  // Errors the map can survive (a tile that failed) are logged once, quietly;
  // anything else is an error.
  const seenErrors = new Set();
  map.on("error", (e) => {
    const msg = e?.error?.message || String(e?.error || "map error");
    if (seenErrors.has(msg)) return;
    seenErrors.add(msg);
    if (/tile|glyph|basemap/i.test(msg)) console.info("map:", msg);
    else console.error(e.error || e);
  });

  let ms = null;
  const dpr = Math.min(window.devicePixelRatio || 1, 3);
  // Track symbols are drawn on demand, one image per symbol code (and a grey one
  // for stale tracks), when the style first needs them.
  const ensureSymbol = (id) => {
    if (!ms || !id.startsWith("ms:") || map.hasImage(id)) return;
    const stale = id.endsWith(":s");
    const sidc = id.slice(3, stale ? -2 : undefined);
    let img;
    try {
      img = symbolImage(ms, sidc, { size: 22, dpr, stale });
    } catch {
      // An unreadable code still gets a symbol: the unknown frame.
      img = symbolImage(ms, "SUGP-----------", { size: 22, dpr, stale });
    }
    map.addImage(id, img.data, { pixelRatio: img.pixelRatio });
  };
  map.setMissingStyleImageResolver(ensureSymbol);

  // The style is built here, not fetched, so "load" comes unless WebGL itself
  // failed, which the Map constructor has already thrown.
  const loaded = new Promise((resolve) => map.once("load", resolve));
  try {
    ms = await msPromise;
  } catch (e) {
    console.error(e);
  }
  await loaded;
  mark("style");
  flags.loaded = true;
  addStaticImages(map);

  const frameMeter = new FrameMeter(map);
  const tracks = new Tracks(map, { staleAfterSeconds: staleAfter, frameMeter });
  const areas = new Areas(map);
  const alerts = new Alerts(map, maplibregl);
  const interact = new Interactions(map, container);
  const operations = new Operations(map, {
    theme,
    trackPosition: (uid) => {
      const p = tracks.get(uid)?.track?.position;
      return p ? [p.lon, p.lat] : null;
    },
  });
  const risk = new RiskLayer(map, { api, onIncident: (id) => call("onIncidentClick", id) });
  unhold = () => {
    if (flags.armed) return;
    tracks.holdUntil(Promise.resolve());
    incidents.flushNow();
  };

  basemapPromise.then((b) => {
    map.getSource("land")?.setData(b.land);
    map.getSource("borders")?.setData(b.borders);
    ready.then(() => b.labels()).then((l) => {
      if (!destroyed) map.getSource("country-labels")?.setData(l);
    }).catch((e) => console.error("country labels:", e));
  }).catch((e) => console.error("basemap:", e)).finally(() => {
    flags.basemap = true;
    checkReady();
  });

  // ---- controls ----
  layerGroups.basemap = basemapLayerIds(basemap);
  layerGroups.operations = operationsLayerIds;
  layerGroups.risk = riskLayerIds;
  function applyLayers() {
    const visible = new Map();
    for (const [g, ids] of Object.entries(layerGroups)) {
      for (const id of ids) visible.set(id, (visible.get(id) ?? true) && layerState[g] !== false);
    }
    for (const [id, on] of visible) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    alerts.setVisible(layerState.alerts !== false);
    tracks.setTrailsVisible(layerState.trails !== false);
  }
  const toolbar = createToolbar({
    map, layerState, hasBasemap: !!basemap, ms,
    onLayerToggle(name, on) {
      layerState[name] = on;
      try { localStorage.setItem(LAYERS_KEY, JSON.stringify(layerState)); } catch { /* private mode */ }
      applyLayers();
      if (name === "risk") risk.setVisible(on);
    },
  });
  applyLayers();
  // A layer left on in an earlier visit loads after the first picture, which it
  // is not part of.
  if (layerState.risk === true) ready.then(() => { if (!destroyed) risk.setVisible(true); });

  const coords = createCoords();
  const attribution = createAttribution(basemap);
  const search = createSearch({
    api,
    onGo({ lon, lat, zoom }) {
      map.getSource("search-pin")?.setData(fc([{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [lon, lat] } }]));
      map.flyTo({ center: [lon, lat], zoom: zoom ?? Math.max(map.getZoom(), 11) });
    },
  });

  let live = true;
  function setLiveInternal(on) {
    if (live === on) return;
    live = on;
    tracks.setLive(on);
    container.classList.toggle("bh-replaying", !on);
    call("onLiveChange", on);
  }
  const slider = new TimeSlider({
    api,
    staleAfter,
    bbox: () => paddedBBox(),
    onLive: (on) => setLiveInternal(on),
    onFrame: (f) => tracks.showReplay(f.features, f.trails),
    onIncidentWindow: (from, to) => incidents.setSliderFilter(from, to),
  });

  // The scale bar lives in our bottom row rather than a maplibre corner, so that it
  // follows the page's direction and never sits under the time slider.
  const scale = new maplibregl.ScaleControl({ unit: "metric", maxWidth: 120 });
  const scaleEl = scale.onAdd(map);
  const ui = el("div", { class: "bh-ui" },
    el("div", { class: "bh-top" }, search.root, toolbar.root),
    el("div", { class: "bh-side" }, risk.box, risk.panel),
    el("div", { class: "bh-bottom" }, el("div", { class: "bh-bottom-info" }, coords.root, scaleEl, attribution.root), slider.root));
  container.append(ui);

  // ---- theme ----
  const mq = window.matchMedia?.("(prefers-color-scheme: dark)");
  const onTheme = () => {
    const t = currentTheme();
    if (t === theme) return;
    theme = t;
    container.dataset.bhTheme = t;
    applyTheme(map, t, basemap);
    operations.applyTheme(t);
  };
  mq?.addEventListener?.("change", onTheme);
  const mo = new MutationObserver(onTheme);
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });

  // ---- language ----
  const offLang = onLang(() => {
    retranslate(ui);
    toolbar.relabel();
    coords.relabel();
    attribution.relabel();
    slider.relabel();
    interact.relabel();
    risk.relabel();
    map.getCanvas().setAttribute("aria-label", tr("map.aria.canvas"));
    if (popup.isOpen() && popupFor) showTrackPopup(popupFor);
  });

  // ---- pointer: readout, hover, clicks ----
  let coarse = matchMedia?.("(pointer: coarse)").matches ?? false;
  const onPointerDown = (e) => {
    coarse = e.pointerType === "touch" || e.pointerType === "pen";
    interact.setCoarse(coarse);
  };
  container.addEventListener("pointerdown", onPointerDown, true);
  // Esc closes a track's popup (pick and draw handle their own Esc first).
  const onKeyDown = (e) => {
    if (e.key === "Escape" && popup.isOpen() && !interact.active) popup.remove();
  };
  container.addEventListener("keydown", onKeyDown);
  interact.setCoarse(coarse);

  const clickable = ["alerts", "tracks", "incidents", "incident-clusters", "ops-tasks", "ops-routes", "ops-routes-dashed", "risk-fill"];
  function featuresAt(point, layers) {
    const r = coarse ? 18 : 6;
    const ls = layers.filter((l) => map.getLayer(l) && map.getLayoutProperty(l, "visibility") !== "none");
    if (!ls.length) return [];
    return map.queryRenderedFeatures([[point.x - r, point.y - r], [point.x + r, point.y + r]], { layers: ls });
  }

  const tip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: "bh-tip", offset: 12, maxWidth: "280px" });
  let hoverPoint = null;
  let hoverRaf = 0;
  const showCentre = () => {
    const c = map.getCenter();
    coords.show(c.lat, wrapLon(c.lng), false);
  };
  map.on("mousemove", (e) => {
    hoverPoint = e;
    if (hoverRaf) return;
    hoverRaf = requestAnimationFrame(() => {
      hoverRaf = 0;
      const ev = hoverPoint;
      if (!ev) return;
      coords.show(ev.lngLat.lat, wrapLon(ev.lngLat.lng), true);
      if (interact.active) {
        tip.remove();
        return;
      }
      const f = featuresAt(ev.point, clickable)[0];
      map.getCanvas().style.cursor = f ? "pointer" : "";
      if (f?.layer.id === "incidents") showIncidentTip(f);
      else tip.remove();
    });
  });
  map.getCanvas().addEventListener("mouseleave", () => {
    hoverPoint = null;
    tip.remove();
    showCentre();
  });
  map.on("move", () => { if (!hoverPoint) showCentre(); });
  showCentre();

  function showIncidentTip(f) {
    const it = incidents.get(f.properties.id);
    if (!it) return;
    const p = it.p;
    const body = el("div", { class: "bh-tip-body" },
      el("strong", { text: p.title || tr("map.incident") + " " + p.id }),
      el("div", { text: [tr("map.cat." + (p.category || "other")), it.t ? dateTime(it.t) : ""].filter(Boolean).join(" · ") }),
      p.killed || p.injured ? el("div", { class: "bh-tip-cas", text: tr("map.incident.casualties", { killed: p.killed || 0, injured: p.injured || 0 }) }) : null);
    tip.setLngLat(f.geometry.coordinates).setDOMContent(body).addTo(map);
  }

  const popup = new maplibregl.Popup({ closeButton: false, className: "bh-popup", offset: 16, maxWidth: "300px" });
  let popupFor = null;
  popup.on("close", () => { popupFor = null; });
  function showTrackPopup(uid) {
    const it = tracks.get(uid);
    if (!it) return;
    const s = it.track, p = s.position;
    popupFor = uid;
    const close = el("button", { type: "button", class: "bh-popup-close", i18nAria: "map.close", onclick: () => popup.remove() });
    close.textContent = "×";
    const rows = [
      [tr("map.track.kind"), s.kind ? tr("map.kind." + s.kind) : ""],
      [tr("map.track.unit"), [s.unit, s.nationality].filter(Boolean).join(" · ")],
      [tr("map.track.last"), `${relTime(it.t)} (${dateTime(it.t, true)})`],
      [tr("map.track.speed"), p.speed ? tr("map.track.speedValue", { kmh: Math.round(p.speed * 3.6), course: Math.round(p.course || 0) }) : tr("map.track.stationary")],
      ["MGRS", formatMGRS(p.lat, p.lon)],
    ].filter(([, v]) => v);
    const body = el("div", { class: "bh-popup-body", role: "dialog", "aria-label": s.callsign || s.uid },
      close,
      el("strong", { class: "bh-popup-title", text: s.callsign || s.uid }),
      Date.now() - it.t > staleAfter * 1000 ? el("div", { class: "bh-popup-stale", text: tr("map.track.stale") }) : null,
      el("dl", {}, rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])));
    popup.setLngLat([p.lon, p.lat]).setDOMContent(body).addTo(map);
  }

  map.on("click", async (e) => {
    if (interact.active) return;
    toolbar.close();
    const fs = featuresAt(e.point, clickable);
    const pick = (layer) => fs.find((f) => f.layer.id === layer);
    let f;
    if ((f = pick("alerts"))) {
      call("onAlertClick", f.properties.id);
    } else if ((f = pick("tracks"))) {
      if (live) showTrackPopup(f.properties.uid);
      call("onTrackClick", f.properties.uid);
    } else if ((f = pick("incidents"))) {
      call("onIncidentClick", f.properties.id);
    } else if ((f = pick("ops-tasks"))) {
      call("onTaskClick", f.properties.id);
    } else if ((f = pick("ops-routes") || pick("ops-routes-dashed"))) {
      call("onPatrolClick", f.properties.id);
    } else if ((f = pick("incident-clusters"))) {
      try {
        const zoom = await map.getSource("incidents").getClusterExpansionZoom(f.properties.cluster_id);
        map.easeTo({ center: f.geometry.coordinates, zoom: Math.min(zoom, 16) });
      } catch { /* the cluster went away with new data */ }
    } else if ((f = pick("risk-fill"))) {
      popup.remove();
      risk.openCell(f.properties.id);
    } else {
      popup.remove();
      risk.closeCell();
    }
  });

  // ---- view ----
  let userMoved = !!savedView;
  let viewTimer = 0;
  map.on("movestart", (e) => { if (e.originalEvent) userMoved = true; });
  map.on("moveend", () => {
    clearTimeout(viewTimer);
    viewTimer = setTimeout(() => {
      const c = map.getCenter();
      if (userMoved) {
        try {
          localStorage.setItem(VIEW_KEY, JSON.stringify({ lon: +wrapLon(c.lng).toFixed(5), lat: +c.lat.toFixed(5), zoom: +map.getZoom().toFixed(2) }));
        } catch { /* private mode */ }
      }
      call("onViewChange", bbox());
    }, 250);
  });

  function bbox() {
    const b = map.getBounds();
    let w = b.getWest(), e = b.getEast();
    if (e - w >= 360) {
      w = -180;
      e = 180;
    } else {
      w = wrapLon(w);
      e = wrapLon(e);
      if (w > e) { w = -180; e = 180; } // across the antimeridian: ask for the world
    }
    const r = (x) => Math.round(x * 1e5) / 1e5;
    return [r(w), r(Math.max(-90, b.getSouth())), r(e), r(Math.min(90, b.getNorth()))];
  }
  function paddedBBox() {
    const [w, s, e, n] = bbox();
    const dx = (e - w) * 0.25, dy = (n - s) * 0.25;
    const r = (x) => Math.round(x * 1e5) / 1e5;
    return [r(Math.max(-180, w - dx)), r(Math.max(-90, s - dy)), r(Math.min(180, e + dx)), r(Math.min(90, n + dy))];
  }

  // Until the user has moved the map (now or in an earlier visit), the first data
  // frames it: tracks, else areas (when everything has come; see checkReady).
  let framed = false;
  function frameData() {
    if (framed || userMoved) return;
    const pts = [];
    for (const it of tracks.items.values()) pts.push(it.feature.geometry.coordinates);
    if (!pts.length) {
      for (const a of areas.all.values()) collectCoords(a.geometry?.coordinates, pts);
    }
    if (!pts.length) return;
    framed = true;
    let w = 180, s = 90, e = -180, n = -90;
    for (const [x, y] of pts) { w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y); }
    if (e - w < 0.05 && n - s < 0.05) map.jumpTo({ center: [(w + e) / 2, (s + n) / 2], zoom: 11 });
    else map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 11, animate: false });
  }

  function checkReady() {
    if (flags.armed || !flags.tracks || !flags.incidents || !flags.basemap || !flags.loaded) return;
    flags.armed = true;
    mark("data");
    frameData();
    tracks.flushNow();
    incidents.flushNow();
    areas.flushNow();
    alerts.flushNow();
    tracks.holdUntil(Promise.race([ready, new Promise((r) => setTimeout(r, 10000))]));
    // Everything is loaded and placed at the first idle; the picture is shown, drawn
    // at full size, and ready once that frame is done.
    map.once("idle", () => {
      reveal();
      map.once("idle", () => {
        mark("ready");
        readyResolve();
      });
      map.triggerRepaint(); // also when the timer below revealed it already
    });
    map.triggerRepaint();
  }

  map.once("idle", () => call("onViewChange", bbox()));

  const mv = {
    map,
    ready,
    upsertTracks(states) {
      tracks.upsert(states || []);
      operations.tracksMoved();
      // Framed as soon as there are tracks, not when everything has come: a jump
      // throws away every tile loaded for the old view, and the basemap's tiles for
      // the new one can load while the incidents are still on their way.
      if (!flags.armed && states?.length) {
        frameData();
        // The symbols are drawn now, while the map waits for the incidents, rather
        // than when the worker first asks for them on the way to the first picture.
        for (const s of states) {
          const pr = tracks.get(s?.uid)?.feature.properties;
          if (pr) ensureSymbol(pr.stale ? pr.icon + ":s" : pr.icon);
        }
      }
      if (!flags.tracks) {
        flags.tracks = true;
        checkReady();
      }
    },
    removeTracks(uids) {
      tracks.remove(uids || []);
    },
    setIncidents(collection) {
      incidents.set(collection);
      if (!flags.incidents) {
        flags.incidents = true;
        checkReady();
      }
    },
    upsertIncidents(list) {
      incidents.upsert(list || []);
    },
    setAreas(list) {
      areas.set(list || []);
    },
    upsertAreas(list) {
      areas.upsert(list || []);
    },
    removeArea(id) {
      areas.remove(id);
    },
    setAlerts(list) {
      alerts.set(list || []);
    },
    upsertAlerts(list) {
      alerts.upsert(list || []);
    },
    setIncidentTimeFilter(from, to) {
      incidents.setExternalFilter(from, to);
    },
    flyTo({ lon, lat, zoom } = {}) {
      if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
      map.flyTo({ center: [lon, lat], zoom: zoom ?? Math.max(map.getZoom(), 11) });
    },
    highlightIncident(id) {
      const it = incidents.get(id);
      const src = map.getSource("highlight");
      if (!it) {
        src?.setData(fc([]));
        return;
      }
      const c = it.f.geometry.coordinates;
      src?.setData(fc([{ type: "Feature", properties: { id }, geometry: { type: "Point", coordinates: c } }]));
      if (!map.getBounds().contains(c) || map.getZoom() < 9) map.easeTo({ center: c, zoom: Math.max(map.getZoom(), 12) });
    },
    highlightAlert(id) {
      const c = alerts.focus(id);
      if (c) map.easeTo({ center: c, zoom: Math.max(map.getZoom(), 12) });
    },
    pickPoint() {
      return interact.pickPoint();
    },
    drawPolygon() {
      return interact.drawPolygon();
    },
    drawLine(start) {
      return interact.drawLine(start || []);
    },
    setOperations(patrols, tasks) {
      operations.set(patrols, tasks);
    },
    upsertOperations(patrols, tasks) {
      operations.upsert(patrols, tasks);
    },
    showRoute(line, segments) {
      operations.showPlan(line, segments);
    },
    fitLine(line) {
      if (!line?.length) return;
      let w = 180, s = 90, e = -180, n = -90;
      for (const [x, y] of line) { w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y); }
      map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 13, duration: 400 });
    },
    setLive(on) {
      if (on) {
        if (!slider.isLive()) slider.goLive();
        else setLiveInternal(true);
      } else setLiveInternal(false);
    },
    isLive: () => live,
    bbox,
    resize() {
      map.resize();
    },
    destroy() {
      destroyed = true;
      clearTimeout(revealTimer);
      offLang();
      mq?.removeEventListener?.("change", onTheme);
      mo.disconnect();
      container.removeEventListener("pointerdown", onPointerDown, true);
      container.removeEventListener("keydown", onKeyDown);
      clearTimeout(viewTimer);
      cancelAnimationFrame(hoverRaf);
      interact.destroy();
      slider.destroy();
      search.destroy();
      toolbar.destroy();
      tracks.destroy();
      frameMeter.destroy();
      incidents.destroy();
      areas.destroy();
      alerts.destroy();
      operations.destroy();
      risk.destroy();
      tip.remove();
      popup.remove();
      scale.onRemove();
      ui.remove();
      map.remove();
      loadingNote.remove();
      container.classList.remove("bh-map", "bh-replaying", "bh-loading");
      if (window.bluehelmMap === map) window.bluehelmMap = undefined;
    },
  };
  return mv;
}

function currentTheme() {
  const t = document.documentElement.dataset.theme;
  if (t === "dark" || t === "light") return t;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function wrapLon(x) {
  return ((((x + 180) % 360) + 360) % 360) - 180;
}

function collectCoords(c, out) {
  if (!Array.isArray(c)) return;
  if (typeof c[0] === "number") out.push(c);
  else for (const x of c) collectCoords(x, out);
}

async function defaultApi(path, init) {
  const r = await fetch(path, { credentials: "same-origin", ...init });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}
