// The offline basemap: Natural Earth 1:50m countries (world-atlas TopoJSON), turned
// into GeoJSON in the page. TopoJSON is five times smaller to ship than the GeoJSON
// it becomes, and shared borders are drawn once.
import { loadScript, fc, glyphSafe } from "./util.js";

// loadBasemap fetches and converts the countries; it resolves to the GeoJSON of the
// land and the borders between countries, and a function that
// makes a label point per country. The work is done once per page (the answer is
// kept): it may start on the sign-in page (see prewarm in map.js), and a map made
// again after signing out and in needs the same.
let once = null;
export function loadBasemap() {
  if (!once) {
    once = convert();
    once.catch(() => { once = null; }); // a failure is tried again next time
  }
  return once;
}

async function convert() {
  const [topojson, topo] = await Promise.all([
    loadScript("/vendor/topojson-client/topojson-client.js", "topojson"),
    fetch("/vendor/world-atlas/countries-50m.json").then((r) => {
      if (!r.ok) throw new Error("countries-50m.json: HTTP " + r.status);
      return r.json();
    }),
  ]);
  const countries = topo.objects.countries;
  const land = topo.objects.land
    ? topojson.feature(topo, topo.objects.land)
    : topojson.merge(topo, countries.geometries);
  // An arc shared by two countries is a border. (Coastlines are the outline of the
  // land, drawn by a line layer on the land source.)
  const borders = topojson.mesh(topo, countries, (a, b) => a !== b);
  let labels = null;
  return {
    land: land.type === "FeatureCollection" ? land : fc([land]),
    borders: fc([{ type: "Feature", properties: {}, geometry: borders }]),
    // Country names are not needed for the first picture and cost as much as the
    // rest together: they are worked out when the page is idle (a promise).
    labels: () => (labels ??= countryLabels(topojson, topo)),
  };
}

// countryLabels works in slices of idle time, a few countries each: all at once it
// was a task of up to a second on a slow machine, blocking the page just after the
// first picture.
async function countryLabels(topojson, topo) {
  const labels = [];
  const geoms = topo.objects.countries.geometries;
  let i = 0;
  while (i < geoms.length) {
    const idle = await idleSlice();
    do {
      const g = geoms[i++];
      const name = g.properties?.name;
      if (!name || !g.type) continue;
      const p = labelPoint(topojson.feature(topo, g).geometry);
      if (p) labels.push({ type: "Feature", properties: { name: glyphSafe(name) }, geometry: { type: "Point", coordinates: p } });
    } while (i < geoms.length && idle.timeRemaining() > 2);
  }
  return fc(labels);
}

// idleSlice resolves with an idle deadline (one country at least is done per slice,
// so the work ends even on a page that is never idle).
function idleSlice() {
  return new Promise((resolve) => {
    if (window.requestIdleCallback) requestIdleCallback(resolve, { timeout: 1000 });
    else setTimeout(() => resolve({ timeRemaining: () => 8 }), 0);
  });
}

// labelPoint picks a point inside the largest polygon of a (Multi)Polygon: its
// area-weighted centroid when that falls inside, else the middle of the widest
// horizontal run through it (concave coasts would otherwise push labels to sea).
export function labelPoint(geom) {
  if (!geom) return null;
  const polys = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
  let best = null, bestArea = 0;
  for (const p of polys) {
    const a = Math.abs(ringArea(p[0]));
    if (a > bestArea) { bestArea = a; best = p; }
  }
  if (!best) return null;
  const c = centroid(best[0]);
  if (c && inPolygon(c, best)) return c;
  // Scan the middle latitude for the widest inside run.
  let minY = Infinity, maxY = -Infinity;
  for (const [, y] of best[0]) { minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
  for (const f of [0.5, 0.4, 0.6, 0.3, 0.7]) {
    const y = minY + (maxY - minY) * f;
    const xs = [];
    for (const ring of best) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [x1, y1] = ring[i], [x2, y2] = ring[j];
        if ((y1 > y) !== (y2 > y)) xs.push(x1 + ((y - y1) * (x2 - x1)) / (y2 - y1));
      }
    }
    xs.sort((a, b) => a - b);
    let w = 0, mid = null;
    for (let i = 0; i + 1 < xs.length; i += 2) {
      if (xs[i + 1] - xs[i] > w) { w = xs[i + 1] - xs[i]; mid = (xs[i] + xs[i + 1]) / 2; }
    }
    if (mid != null) return [mid, y];
  }
  return best[0][0];
}

function ringArea(r) {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] - r[i][0]) * (r[j][1] + r[i][1]);
  return a / 2;
}

function centroid(r) {
  let a = 0, x = 0, y = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const f = r[j][0] * r[i][1] - r[i][0] * r[j][1];
    a += f;
    x += (r[j][0] + r[i][0]) * f;
    y += (r[j][1] + r[i][1]) * f;
  }
  if (!a) return null;
  return [x / (3 * a), y / (3 * a)];
}

// inPolygon tests a point against a polygon with holes (even-odd rule).
export function inPolygon([x, y], rings) {
  let inside = false;
  for (const r of rings) {
    for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
      const [xi, yi] = r[i], [xj, yj] = r[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}
