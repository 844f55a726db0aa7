// The MapLibre style: an offline basemap drawn from Natural Earth boundaries, an
// optional MBTiles basemap served by the binary, and the operational overlays.
import { themes, categoryColors, areaStyles, severityColors, match } from "./palette.js";
import { affiliationColors } from "./symbols.js";
import { TRAILS_MINZOOM } from "./tracks.js";
import { fc } from "./util.js";

export const REGULAR = ["Noto Sans Regular"];
export const BOLD = ["Noto Sans Bold"];

// Overlay sources, all GeoJSON, filled by the managers in tracks.js, incidents.js,
// areas.js and alerts.js.
const empty = () => ({ type: "geojson", data: fc([]) });

// Layer groups of the layer switcher. A layer in two groups (area names are both
// "areas" and "labels") shows only when both are on.
export const layerGroups = {
  basemap: [], // filled from the basemap configuration
  graticule: ["graticule-major", "graticule-minor"],
  areas: ["areas-fill", "areas-hatch", "areas-line", "areas-line-dashed", "areas-label", "areas-route-label"],
  incidents: ["incident-clusters", "incident-cluster-count", "incidents", "incident-casualties"],
  trails: ["trails"],
  tracks: ["tracks", "track-heading"],
  labels: ["track-labels", "areas-label", "areas-route-label", "country-labels"],
  alerts: ["alerts"],
};

// baseStyle is the style the map starts with: every source empty, every layer in
// place, so that data can arrive in any order.
export function baseStyle(theme, basemap) {
  const th = themes[theme];
  const origin = location.origin;
  const sources = {
    // Natural Earth at 1:50m has no more detail past zoom 7: deeper tiles are
    // stretched from those rather than cut again, and lines are simplified a little
    // more than by default, which spares the worker half its time on the land.
    land: { ...empty(), maxzoom: 7, tolerance: 0.8 }, borders: { ...empty(), maxzoom: 7, tolerance: 0.8 },
    "country-labels": { ...empty(), maxzoom: 6 },
    graticule: { type: "geojson", data: graticule(), maxzoom: 5 },
    areas: empty(), "area-labels": empty(),
    incidents: {
      // Clustered up to zoom 10; from 11 (a town's streets) every report is its own
      // point. Each clustered zoom is a pass over all 20,000 incidents in the worker
      // on the way to the first picture, and at 11 and 12 nearly all of them were
      // clusters of one anyway (measured: ~0.25 s less to the first picture).
      type: "geojson", data: fc([]), cluster: true, clusterRadius: 45, clusterMaxZoom: 10,
      // Clusters carry the casualties of what they hold, so that a cluster with
      // killed or injured people is marked before anyone zooms in.
      clusterProperties: { cas: ["+", ["get", "cas"]], killed: ["+", ["get", "killed"]] },
    },
    trails: empty(), tracks: empty(), alerts: empty(), highlight: empty(), "search-pin": empty(), draw: empty(),
  };
  const layers = [
    ...baseLayers(th),
    ...(basemap ? basemapLayers(basemap, th) : []),
    ...gridLayers(th),
    ...overlayLayers(th),
  ];
  if (basemap) {
    const s = {
      type: basemap.type === "vector" ? "vector" : "raster",
      tiles: (basemap.tiles?.length ? basemap.tiles : ["/basemap/{z}/{x}/{y}"]).map((u) => (u.startsWith("/") ? origin + u : u)),
    };
    if (Number.isFinite(basemap.minzoom)) s.minzoom = basemap.minzoom;
    if (Number.isFinite(basemap.maxzoom)) s.maxzoom = basemap.maxzoom;
    if (Array.isArray(basemap.bounds) && basemap.bounds.length === 4) s.bounds = basemap.bounds;
    if (s.type === "raster") s.tileSize = 256;
    sources.basemap = s;
  }
  return {
    version: 8,
    // Glyphs are served by the binary; the URL keeps its {placeholders} unescaped.
    glyphs: origin + "/vendor/glyphs/{fontstack}/{range}.pbf",
    sources,
    layers,
  };
}

function baseLayers(th) {
  return [
    { id: "background", type: "background", paint: { "background-color": th.ocean } },
    { id: "land", type: "fill", source: "land", paint: { "fill-color": th.land, "fill-antialias": false } },
  ];
}

function gridLayers(th) {
  return [
    { id: "graticule-minor", type: "line", source: "graticule", minzoom: 4, filter: ["==", ["get", "major"], false],
      paint: { "line-color": th.gratMinor, "line-width": 0.6, "line-dasharray": [3, 3] } },
    { id: "graticule-major", type: "line", source: "graticule", filter: ["==", ["get", "major"], true],
      paint: { "line-color": th.grat, "line-width": 0.8 } },
    { id: "coastline", type: "line", source: "land",
      paint: { "line-color": th.coast, "line-width": ["interpolate", ["linear"], ["zoom"], 1, 0.5, 6, 1.2, 10, 2] } },
    { id: "borders", type: "line", source: "borders", layout: { "line-join": "round" },
      paint: { "line-color": th.border, "line-width": ["interpolate", ["linear"], ["zoom"], 1, 0.5, 6, 1.2, 10, 2], "line-dasharray": [4, 2] } },
    { id: "country-labels", type: "symbol", source: "country-labels", minzoom: 2.5,
      layout: {
        "text-field": ["get", "name"], "text-font": REGULAR, "text-transform": "uppercase", "text-letter-spacing": 0.08,
        "text-size": ["interpolate", ["linear"], ["zoom"], 3, 10, 8, 14], "text-max-width": 8, "text-padding": 4,
      },
      paint: { "text-color": th.label, "text-halo-color": th.halo, "text-halo-width": 1.2 } },
  ];
}

// Basemap from MBTiles: a raster layer, or for vector tiles a plain drawing of every
// source layer by geometry type in subdued colours (we cannot know its schema).
function basemapLayers(bm, th) {
  if (bm.type !== "vector") {
    return [{ id: "basemap-raster", type: "raster", source: "basemap", paint: { "raster-opacity": 1, "raster-fade-duration": 0 } }];
  }
  const out = [];
  (bm.vector_layers || []).forEach((vl, i) => {
    if (!vl?.id) return;
    const color = th.vector[i % th.vector.length];
    const zoom = {};
    if (Number.isFinite(vl.minzoom)) zoom.minzoom = vl.minzoom;
    if (Number.isFinite(vl.maxzoom)) zoom.maxzoom = vl.maxzoom + 1;
    const base = { source: "basemap", "source-layer": vl.id, ...zoom };
    out.push(
      { id: `basemap-${i}-fill`, type: "fill", ...base, filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "fill-color": color, "fill-opacity": 0.45 } },
      { id: `basemap-${i}-line`, type: "line", ...base, filter: ["==", ["geometry-type"], "LineString"],
        paint: { "line-color": color, "line-opacity": 0.9, "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.6, 16, 2.5] } },
      { id: `basemap-${i}-point`, type: "circle", ...base, filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-color": color, "circle-radius": 2.5, "circle-opacity": 0.9 } },
    );
  });
  return out;
}

// basemapLayerIds lists the layers basemapLayers makes, for the layer switcher.
export function basemapLayerIds(bm) {
  if (!bm) return [];
  if (bm.type !== "vector") return ["basemap-raster"];
  return (bm.vector_layers || []).flatMap((vl, i) => (vl?.id ? [`basemap-${i}-fill`, `basemap-${i}-line`, `basemap-${i}-point`] : []));
}

const notRoute = ["!=", ["get", "kind"], "route"];
const stale = ["==", ["get", "stale"], true];

function overlayLayers(th) {
  const dashed = Object.keys(areaStyles).filter((k) => areaStyles[k].dashed);
  const solid = Object.keys(areaStyles).filter((k) => !areaStyles[k].dashed);
  return [
    // Areas.
    { id: "areas-fill", type: "fill", source: "areas", filter: notRoute,
      paint: { "fill-color": match("kind", areaStyles, "fill", "#888888"), "fill-opacity": match("kind", areaStyles, "opacity", 0.08) } },
    { id: "areas-hatch", type: "fill", source: "areas", filter: ["==", ["get", "kind"], "restricted"],
      paint: { "fill-pattern": "bh-hatch", "fill-opacity": 0.55 } },
    { id: "areas-line", type: "line", source: "areas", filter: ["in", ["get", "kind"], ["literal", solid]],
      layout: { "line-join": "round" },
      paint: { "line-color": match("kind", areaStyles, "line", "#888888"), "line-width": match("kind", areaStyles, "width", 1.5) } },
    { id: "areas-line-dashed", type: "line", source: "areas", filter: ["in", ["get", "kind"], ["literal", dashed]],
      layout: { "line-join": "round" },
      paint: { "line-color": match("kind", areaStyles, "line", "#888888"), "line-width": match("kind", areaStyles, "width", 1.5), "line-dasharray": [3, 2] } },
    // Incidents, clustered at low zoom.
    { id: "incident-clusters", type: "circle", source: "incidents", filter: ["has", "point_count"],
      paint: {
        "circle-color": th.cluster, "circle-opacity": 0.9,
        "circle-radius": ["step", ["get", "point_count"], 13, 20, 16, 200, 21, 2000, 27],
        "circle-stroke-color": ["case", [">", ["get", "killed"], 0], "#ff1744", [">", ["get", "cas"], 0], "#ff9100", th.clusterStroke],
        "circle-stroke-width": ["case", [">", ["get", "cas"], 0], 3, 1.5],
      } },
    { id: "incident-cluster-count", type: "symbol", source: "incidents", filter: ["has", "point_count"],
      layout: { "text-field": ["get", "point_count_abbreviated"], "text-font": BOLD, "text-size": 12, "text-allow-overlap": true, "text-ignore-placement": true },
      paint: { "text-color": th.clusterText } },
    { id: "incidents", type: "circle", source: "incidents", filter: ["!", ["has", "point_count"]],
      paint: {
        "circle-color": match("category", categoryColors, null, categoryColors.other),
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 4, 5.5, 10, 8, 15, 10],
        // Reports not yet verified are paler; rejected ones fade out.
        "circle-opacity": ["match", ["get", "status"], ["verified", "approved"], 1, "rejected", 0.35, 0.75],
        "circle-stroke-color": ["case", [">", ["get", "killed"], 0], "#ff1744", th.incStroke],
        "circle-stroke-width": ["case", [">", ["get", "killed"], 0], 2.5, 1.2],
      } },
    { id: "incident-casualties", type: "symbol", source: "incidents", filter: ["all", ["!", ["has", "point_count"]], [">", ["get", "cas"], 0]],
      layout: {
        "text-field": ["to-string", ["get", "cas"]], "text-font": BOLD, "text-size": 11,
        "text-offset": [1.05, -1.05], "text-allow-overlap": true, "text-ignore-placement": true,
      },
      // The red halo is the badge behind the white number.
      paint: { "text-color": "#ffffff", "text-halo-color": "#c62828", "text-halo-width": 3 } },

    // Tracks: trails under heading ticks under symbols under callsigns.
    { id: "trails", type: "line", source: "trails", minzoom: TRAILS_MINZOOM, layout: { "line-cap": "round", "line-join": "round" },
      paint: {
        "line-color": match("aff", affiliationColors, null, affiliationColors.unknown),
        "line-width": 2, "line-opacity": ["case", stale, 0.3, 0.75],
      } },
    { id: "track-heading", type: "symbol", source: "tracks", filter: ["==", ["get", "moving"], true],
      layout: {
        // A small arrow pushed out from the symbol's centre: the offset turns with
        // the rotation, and a small image costs far less to draw 2,000 times than
        // one as wide as the symbol.
        "icon-image": "bh-heading", "icon-rotate": ["get", "course"], "icon-rotation-alignment": "map",
        "icon-offset": [0, -23], "icon-allow-overlap": true, "icon-ignore-placement": true,
        "icon-size": ["interpolate", ["linear"], ["zoom"], 3, 0.65, 9, 1],
      },
      paint: { "icon-opacity": ["case", stale, 0.35, 1] } },
    { id: "tracks", type: "symbol", source: "tracks",
      layout: {
        "icon-image": ["case", stale, ["concat", ["get", "icon"], ":s"], ["get", "icon"]],
        // Every track is drawn, and none hides a label: names of areas and places
        // matter more than a clear view of a crowded symbol.
        "icon-allow-overlap": true, "icon-ignore-placement": true,
        "icon-size": ["interpolate", ["linear"], ["zoom"], 3, 0.65, 9, 1],
        "symbol-sort-key": ["case", stale, 0, 1],
      },
      paint: { "icon-opacity": ["case", stale, 0.6, 1] } },
    { id: "track-labels", type: "symbol", source: "tracks", minzoom: 7,
      layout: {
        "text-field": ["get", "callsign"], "text-font": REGULAR, "text-size": 12,
        "text-anchor": "top", "text-offset": [0, 1.3], "text-max-width": 12, "text-optional": true,
      },
      paint: { "text-color": th.text, "text-halo-color": th.halo, "text-halo-width": 1.5, "text-opacity": ["case", stale, 0.55, 1] } },

    // Area names above track labels: symbols are placed top layer first, and the
    // name of a no-go zone matters more than a callsign.
    { id: "areas-label", type: "symbol", source: "area-labels", minzoom: 5,
      layout: { "text-field": ["get", "name"], "text-font": BOLD, "text-size": ["interpolate", ["linear"], ["zoom"], 5, 10, 12, 14], "text-max-width": 10, "text-padding": 6 },
      paint: { "text-color": th.areaText, "text-halo-color": th.halo, "text-halo-width": 1.5 } },
    { id: "areas-route-label", type: "symbol", source: "areas", minzoom: 8, filter: ["==", ["get", "kind"], "route"],
      layout: { "text-field": ["get", "name"], "text-font": REGULAR, "text-size": 12, "symbol-placement": "line", "symbol-spacing": 400 },
      paint: { "text-color": th.areaText, "text-halo-color": th.halo, "text-halo-width": 1.5 } },

    // Alerts with a place; open ones also pulse (an HTML ring, see alerts.js).
    { id: "alerts", type: "circle", source: "alerts",
      paint: {
        "circle-color": match("severity", severityColors, null, severityColors.info),
        "circle-radius": ["match", ["get", "severity"], "critical", 9, "warning", 8, 7],
        "circle-opacity": ["case", ["==", ["get", "state"], "open"], 1, 0.55],
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 2,
      } },

    // Things the user asked for: a highlighted record, a search result, a drawing.
    { id: "highlight", type: "circle", source: "highlight",
      paint: { "circle-radius": 17, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#ffea00", "circle-stroke-width": 3.5 } },
    { id: "search-pin", type: "circle", source: "search-pin",
      paint: { "circle-radius": 7, "circle-color": "#ffea00", "circle-stroke-color": "#000000", "circle-stroke-width": 2 } },
    { id: "draw-fill", type: "fill", source: "draw", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#ffea00", "fill-opacity": 0.15 } },
    { id: "draw-line", type: "line", source: "draw", filter: ["!=", ["geometry-type"], "Point"],
      paint: { "line-color": "#ffea00", "line-width": 2.5, "line-dasharray": [2, 1] } },
    { id: "draw-points", type: "circle", source: "draw", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": ["case", ["==", ["get", "first"], true], 9, 6], "circle-color": "#ffea00", "circle-stroke-color": "#000000", "circle-stroke-width": 2 } },
  ];
}

// applyTheme sets the theme-dependent paint properties, for a theme switch without
// reloading the style.
export function applyTheme(map, theme, basemap) {
  const style = baseStyle(theme, basemap);
  for (const l of style.layers) {
    if (!l.paint || !map.getLayer(l.id)) continue;
    for (const [k, v] of Object.entries(l.paint)) map.setPaintProperty(l.id, k, v);
  }
}

// graticule makes lines every 5° (those on multiples of 10° are "major"); the
// parallels stop at ±85°, the edge of the Web Mercator world.
function graticule() {
  const f = [];
  for (let lon = -180; lon <= 180; lon += 5) {
    const coords = [];
    for (let lat = -85; lat <= 85; lat += 5) coords.push([lon, lat]);
    f.push({ type: "Feature", properties: { major: lon % 10 === 0 }, geometry: { type: "LineString", coordinates: coords } });
  }
  for (let lat = -80; lat <= 80; lat += 5) {
    const coords = [];
    for (let lon = -180; lon <= 180; lon += 5) coords.push([lon, lat]);
    f.push({ type: "Feature", properties: { major: lat % 10 === 0 }, geometry: { type: "LineString", coordinates: coords } });
  }
  return fc(f);
}

// Canvas images used by the style: the heading tick and the no-go hatching.
export function addStaticImages(map) {
  const dpr = Math.min(window.devicePixelRatio || 1, 3);
  const img = (w, h, draw) => {
    const c = document.createElement("canvas");
    c.width = w * dpr;
    c.height = h * dpr;
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.scale(dpr, dpr);
    draw(ctx);
    return { data: ctx.getImageData(0, 0, c.width, c.height), pixelRatio: dpr };
  };
  // The tick points up; placed beyond the symbol's edge and rotated by the course
  // it shows where the track is heading, whatever the symbol's shape.
  const tick = img(14, 16, (ctx) => {
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const [color, width] of [["rgba(0,0,0,0.8)", 5], ["#ffffff", 2.5]]) {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(7, 14);
      ctx.lineTo(7, 3);
      ctx.moveTo(3, 7);
      ctx.lineTo(7, 3);
      ctx.lineTo(11, 7);
      ctx.stroke();
    }
  });
  const hatch = img(12, 12, (ctx) => {
    ctx.strokeStyle = "#ff4040";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(-3, 15);
    ctx.lineTo(15, -3);
    ctx.moveTo(-3, 3);
    ctx.lineTo(3, -3);
    ctx.moveTo(9, 15);
    ctx.lineTo(15, 9);
    ctx.stroke();
  });
  if (!map.hasImage("bh-heading")) map.addImage("bh-heading", tick.data, { pixelRatio: tick.pixelRatio });
  if (!map.hasImage("bh-hatch")) map.addImage("bh-hatch", hatch.data, { pixelRatio: hatch.pixelRatio });
}
