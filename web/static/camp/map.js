// The camp's own map on the camp dashboard: the perimeter and its zones, the
// camp's assets (generators, tanks, towers… as squares, ringed red when a
// service is due), every sensor coloured by its state (its last value on hover or tap), and the camp's
// open alarms pulsing, a confirmed intrusion larger than the rest. It is a second
// MapLibre map, separate from the mission map, over the same embedded offline
// basemap (Natural Earth land): at a camp's scale that is a plain background, and
// what matters is drawn from the dashboard's own data.
import * as maplibregl from "/vendor/maplibre-gl/maplibre-gl.mjs";
import { loadBasemap } from "/map/basemap.js";
import { themes, severityColors } from "/map/palette.js";
import { Alerts } from "/map/alerts.js";
import { fc, glyphSafe, ensureStylesheet } from "/map/util.js";

// Sensor states (the dashboard's "state") and their colours. The same colours
// mark the states in the sensor table, so a legend learnt on one holds on the other.
export const stateColors = { ok: "#46a758", alarm: "#ff1744", stale: "#ffa000", disabled: "#8b8d98" };

const REGULAR = ["Noto Sans Regular"];

// lonLat reads a position as the contract writes it ({lon, lat}) or as the domain's
// Point marshals it (a GeoJSON Point).
export function lonLat(p) {
  if (!p) return null;
  if (Array.isArray(p.coordinates)) return [Number(p.coordinates[0]), Number(p.coordinates[1])];
  if (Number.isFinite(p.lon) && Number.isFinite(p.lat)) return [p.lon, p.lat];
  return null;
}

function currentTheme() {
  return document.documentElement.dataset.theme === "light" ? "light" : "dark";
}

function style(theme) {
  const th = themes[theme];
  const empty = () => ({ type: "geojson", data: fc([]) });
  return {
    version: 8,
    glyphs: location.origin + "/vendor/glyphs/{fontstack}/{range}.pbf",
    sources: {
      land: { ...empty(), maxzoom: 7, tolerance: 0.8 },
      camp: empty(),
      zones: empty(),
      "zone-labels": empty(),
      sensors: empty(),
      assets: empty(),
      alerts: empty(),
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": th.ocean } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": th.land, "fill-antialias": false } },
      { id: "zones-fill", type: "fill", source: "zones", paint: { "fill-color": ["case", ["get", "alarm"], "#ff1744", "#8ec9f2"], "fill-opacity": ["case", ["get", "alarm"], 0.25, 0.12] } },
      { id: "zones-line", type: "line", source: "zones", paint: { "line-color": "#8ec9f2", "line-width": 1.2 } },
      { id: "camp-line", type: "line", source: "camp", paint: { "line-color": "#4b92db", "line-width": 3 } },
      { id: "zone-labels", type: "symbol", source: "zone-labels",
        layout: { "text-field": ["get", "name"], "text-font": REGULAR, "text-size": 12, "text-max-width": 8 },
        paint: { "text-color": th.areaText, "text-halo-color": th.halo, "text-halo-width": 1.2 } },
      // Assets under the sensors (a generator's sensors sit on it): a square
      // plate larger than a sensor's dot, so that both show and the asset is
      // not read as one more sensor.
      { id: "assets", type: "symbol", source: "assets",
        layout: { "icon-image": ["case", ["get", "due"], "bh-asset-due", "bh-asset"], "icon-allow-overlap": true, "icon-ignore-placement": true } },
      { id: "asset-labels", type: "symbol", source: "assets", minzoom: 16,
        layout: { "text-field": ["get", "name"], "text-font": REGULAR, "text-size": 11, "text-offset": [0, 1.2], "text-anchor": "top", "text-optional": true },
        paint: { "text-color": th.areaText, "text-halo-color": th.halo, "text-halo-width": 1.2 } },
      { id: "alerts", type: "circle", source: "alerts",
        paint: {
          "circle-radius": ["case", ["==", ["get", "rule"], "confirmed_intrusion"], 16, 10],
          "circle-color": ["match", ["get", "severity"], "critical", severityColors.critical, "warning", severityColors.warning, severityColors.info],
          "circle-opacity": 0.35, "circle-stroke-width": 2,
          "circle-stroke-color": ["match", ["get", "severity"], "critical", severityColors.critical, "warning", severityColors.warning, severityColors.info],
        } },
      { id: "sensors", type: "circle", source: "sensors",
        paint: {
          "circle-radius": ["case", ["get", "perimeter"], 6, 7],
          "circle-color": ["match", ["get", "state"], "ok", stateColors.ok, "alarm", stateColors.alarm, "stale", stateColors.stale, stateColors.disabled],
          "circle-stroke-color": th.halo, "circle-stroke-width": ["case", ["get", "perimeter"], 1.5, 2.5],
        } },
    ],
  };
}

// createCampMap builds the map in container and resolves to its view:
//   show(dashboard)  highlight(sensorId)  resize()  destroy()
// opts: describeSensor(sensor) → Node (the tip), describeAsset(asset) → Node,
// onSensorClick(id).
// window.bluehelmCampMap is the maplibre Map (for tests and the console).
export async function createCampMap(container, { describeSensor, describeAsset, onSensorClick } = {}) {
  ensureStylesheet("/vendor/maplibre-gl/maplibre-gl.css");
  ensureStylesheet("/map/map.css");
  container.classList.add("bh-map");
  let theme = currentTheme();
  container.dataset.bhTheme = theme;
  const map = new maplibregl.Map({
    container, style: style(theme), center: [0, 0], zoom: 2, minZoom: 3, maxZoom: 20,
    attributionControl: false, maplibreLogo: false, pitchWithRotate: false, touchPitch: false, dragRotate: false,
    fadeDuration: 0,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  window.bluehelmCampMap = map;
  map.on("error", (e) => {
    const msg = e?.error?.message || String(e?.error || "map error");
    if (/tile|glyph/i.test(msg)) console.info("camp map:", msg);
    else console.error(e.error || e);
  });
  await new Promise((resolve) => map.once("load", resolve));
  addAssetImages(map);
  // The page lays the card out after the map is made (and again on a rotation
  // or a language change): the map follows its box, not only the window.
  const sizer = new ResizeObserver(() => map.resize());
  sizer.observe(container);
  loadBasemap().then((b) => map.getSource("land")?.setData(b.land)).catch((e) => console.warn("camp basemap:", e));
  const alerts = new Alerts(map, maplibregl);

  let framed = 0; // the camp whose extent the view was fitted to
  let sensors = new Map();
  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 10, className: "bh-tip" });
  const tip = (f) => {
    const s = sensors.get(f.properties.id);
    if (!s) return;
    popup.setLngLat(f.geometry.coordinates).setDOMContent(describeSensor(s)).addTo(map);
  };
  let assets = new Map();
  const assetTip = (f) => {
    const a = assets.get(f.properties.id);
    if (a) popup.setLngLat(f.geometry.coordinates).setDOMContent(describeAsset ? describeAsset(a) : document.createTextNode(a.name)).addTo(map);
  };
  map.on("mousemove", "assets", (e) => {
    map.getCanvas().style.cursor = "pointer";
    assetTip(e.features[0]);
  });
  map.on("mouseleave", "assets", () => {
    map.getCanvas().style.cursor = "";
    popup.remove();
  });
  map.on("click", "assets", (e) => assetTip(e.features[0]));
  map.on("mousemove", "sensors", (e) => {
    map.getCanvas().style.cursor = "pointer";
    tip(e.features[0]);
  });
  map.on("mouseleave", "sensors", () => {
    map.getCanvas().style.cursor = "";
    popup.remove();
  });
  // A tap on a tablet has no hover: it shows the same tip, and selects the row.
  map.on("click", "sensors", (e) => {
    tip(e.features[0]);
    onSensorClick?.(e.features[0].properties.id);
  });
  map.on("click", (e) => {
    if (!map.queryRenderedFeatures(e.point, { layers: ["sensors", "assets"] }).length) popup.remove();
  });

  const onTheme = new MutationObserver(() => {
    const t = currentTheme();
    if (t === theme) return;
    theme = t;
    container.dataset.bhTheme = t;
    const th = themes[t];
    map.setPaintProperty("background", "background-color", th.ocean);
    map.setPaintProperty("land", "fill-color", th.land);
    map.setPaintProperty("zone-labels", "text-color", th.areaText);
    map.setPaintProperty("zone-labels", "text-halo-color", th.halo);
    map.setPaintProperty("sensors", "circle-stroke-color", th.halo);
  });
  onTheme.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });

  return {
    map,
    show(d) {
      const campGeom = d.camp?.geometry;
      sensors = new Map((d.sensors || []).map((s) => [s.id, s]));
      // A zone with a sensor in alarm is shaded: an intrusion shows where it is
      // even before anyone reads the list.
      const alarmZones = new Set((d.sensors || []).filter((s) => s.state === "alarm" && s.zone_id).map((s) => s.zone_id));
      map.getSource("camp")?.setData(fc(campGeom ? [{ type: "Feature", properties: { id: d.camp.id }, geometry: campGeom }] : []));
      const zones = (d.zones || []).filter((z) => z.geometry);
      map.getSource("zones")?.setData(fc(zones.map((z) => ({ type: "Feature", id: z.id, properties: { id: z.id, alarm: alarmZones.has(z.id) }, geometry: z.geometry }))));
      map.getSource("zone-labels")?.setData(fc(zones.map((z) => ({ type: "Feature", properties: { name: glyphSafe(z.name) }, geometry: { type: "Point", coordinates: centre(z.geometry) } })).filter((f) => f.geometry.coordinates)));
      map.getSource("sensors")?.setData(fc((d.sensors || []).filter((s) => lonLat(s.position)).map((s) => ({
        type: "Feature", id: s.id,
        properties: { id: s.id, code: s.code, state: s.state || "ok", perimeter: /^perimeter_/.test(s.kind) },
        geometry: { type: "Point", coordinates: lonLat(s.position) },
      }))));
      assets = new Map((d.assets || []).map((a) => [a.id, a]));
      map.getSource("assets")?.setData(fc((d.assets || []).filter((a) => lonLat(a.position)).map((a) => ({
        type: "Feature", id: a.id,
        properties: { id: a.id, name: glyphSafe(a.name || ""), due: !!a.service_due },
        geometry: { type: "Point", coordinates: lonLat(a.position) },
      }))));
      // The alarms keep their rule, so that an intrusion is drawn larger.
      alerts.set(d.alarms || []);
      const feats = (d.alarms || []).filter((a) => a.location?.coordinates).map((a) => ({
        type: "Feature", id: a.id, properties: { id: a.id, severity: a.severity || "info", rule: a.rule || "" },
        geometry: { type: "Point", coordinates: a.location.coordinates },
      }));
      alerts.flushNow();
      map.getSource("alerts")?.setData(fc(feats));
      if (framed !== d.camp?.id) {
        const b = bounds(campGeom, d.sensors || []);
        if (b) {
          map.fitBounds(b, { padding: 30, animate: false, maxZoom: 17 });
          framed = d.camp.id;
        }
      }
    },
    highlight(id) {
      const s = sensors.get(id);
      const p = lonLat(s?.position);
      if (!p) return;
      map.easeTo({ center: p, duration: 300 });
      popup.setLngLat(p).setDOMContent(describeSensor(s)).addTo(map);
    },
    resize() {
      map.resize();
    },
    destroy() {
      sizer.disconnect();
      onTheme.disconnect();
      alerts.destroy();
      popup.remove();
      map.remove();
      if (window.bluehelmCampMap === map) window.bluehelmCampMap = null;
    },
  };
}

function rings(g) {
  if (!g) return [];
  if (g.type === "Polygon") return g.coordinates;
  if (g.type === "MultiPolygon") return g.coordinates.flat();
  if (g.type === "LineString") return [g.coordinates];
  return [];
}

function centre(g) {
  const pts = rings(g)[0];
  if (!pts?.length) return null;
  let x = 0, y = 0, n = 0;
  for (const [lon, lat] of pts.slice(0, -1).length ? pts.slice(0, -1) : pts) {
    x += lon;
    y += lat;
    n++;
  }
  return n ? [x / n, y / n] : null;
}

function bounds(geom, sensors) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const add = (lon, lat) => {
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
    w = Math.min(w, lon); e = Math.max(e, lon); s = Math.min(s, lat); n = Math.max(n, lat);
  };
  for (const r of rings(geom)) for (const [lon, lat] of r) add(lon, lat);
  for (const x of sensors) {
    const p = lonLat(x.position);
    if (p) add(p[0], p[1]);
  }
  if (!Number.isFinite(w)) return null;
  if (e - w < 1e-4) { w -= 0.002; e += 0.002; }
  if (n - s < 1e-4) { s -= 0.002; n += 0.002; }
  return [[w, s], [e, n]];
}

// addAssetImages draws the asset markers: a rounded square, ringed red when a
// service is due. Drawn here rather than shipped as files: two small images.
function addAssetImages(map) {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const draw = (id, ring) => {
    if (map.hasImage(id)) return;
    const px = Math.round(24 * dpr);
    const c = document.createElement("canvas");
    c.width = c.height = px;
    const g = c.getContext("2d");
    g.scale(dpr, dpr);
    g.fillStyle = "#d9b44a";
    g.strokeStyle = ring || "#1b1d23";
    g.lineWidth = ring ? 3 : 1.5;
    g.beginPath();
    g.roundRect(2, 2, 20, 20, 3);
    g.fill();
    g.stroke();
    map.addImage(id, g.getImageData(0, 0, px, px), { pixelRatio: dpr });
  };
  draw("bh-asset", null);
  draw("bh-asset-due", "#ff1744");
}
