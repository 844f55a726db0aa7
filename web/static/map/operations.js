// The operations layer: routes of the approved and underway patrols (underway
// solid, approved dashed), open response tasks as markers at the scene with a
// line from the unit's track to it; and the route the planner is looking at —
// drawn, imported or a patrol's — coloured stretch by stretch by its risk level.
// Sources and layers are added here, below the alerts, so the style's own table
// (layers.js) stays as it is.
import { Coalescer, fc, glyphSafe } from "./util.js";
import { REGULAR } from "./layers.js";

// Risk colours: the same as the page's badges (ops.js riskColours).
export const riskColors = { low: "#46a758", moderate: "#f5d90a", high: "#f76b15", severe: "#e5484d" };
export const taskColors = { assigned: "#ffb300", en_route: "#40a4ff", on_scene: "#46a758" };
const patrolColor = "#00e5ff";

// The layer switcher's "operations" group.
export const operationsLayerIds = ["ops-routes-casing", "ops-routes", "ops-routes-dashed", "ops-route-labels", "ops-task-lines", "ops-tasks", "ops-task-labels"];

const active = (p) => p.status === "approved" || p.status === "underway";
const open = (tk) => tk.status === "assigned" || tk.status === "en_route" || tk.status === "on_scene";

export class Operations {
  // trackPosition(uid) → [lon, lat] | null: where a unit's track is now.
  constructor(map, { trackPosition, theme }) {
    this.map = map;
    this.trackPosition = trackPosition;
    this.patrols = new Map();
    this.tasks = new Map();
    this.draw = new Coalescer(() => this.#flush(), 250);
    this.#addLayers(theme);
  }

  #addLayers(theme) {
    const m = this.map;
    const halo = theme === "light" ? "#ffffff" : "#0a1620";
    const text = theme === "light" ? "#12181d" : "#e8eef3";
    for (const id of ["ops-routes", "ops-tasks", "ops-task-lines", "plan-route", "plan-points"]) {
      if (!m.getSource(id)) m.addSource(id, { type: "geojson", data: fc([]) });
    }
    // Below the alerts (and what the user asked for: highlight, drawing): an
    // alert on a patrol's route must stay clickable.
    const before = m.getLayer("alerts") ? "alerts" : undefined;
    const layers = [
      { id: "ops-routes-casing", type: "line", source: "ops-routes", filter: ["==", ["get", "status"], "underway"], layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": "#000000", "line-width": 6, "line-opacity": 0.5 } },
      { id: "ops-routes", type: "line", source: "ops-routes", filter: ["==", ["get", "status"], "underway"], layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": patrolColor, "line-width": 3.5 } },
      { id: "ops-routes-dashed", type: "line", source: "ops-routes", filter: ["==", ["get", "status"], "approved"],
        paint: { "line-color": patrolColor, "line-width": 3, "line-dasharray": [2, 1.5], "line-opacity": 0.9 } },
      { id: "ops-route-labels", type: "symbol", source: "ops-routes", minzoom: 8,
        layout: { "text-field": ["get", "name"], "text-font": REGULAR, "text-size": 12, "symbol-placement": "line", "symbol-spacing": 500, "text-optional": true },
        paint: { "text-color": text, "text-halo-color": halo, "text-halo-width": 1.5 } },
      { id: "ops-task-lines", type: "line", source: "ops-task-lines",
        paint: { "line-color": ["match", ["get", "status"], "assigned", taskColors.assigned, "en_route", taskColors.en_route, taskColors.on_scene], "line-width": 2, "line-dasharray": [1, 1.5] } },
      { id: "ops-tasks", type: "circle", source: "ops-tasks",
        paint: {
          "circle-radius": 8, "circle-color": "#111111",
          "circle-stroke-color": ["match", ["get", "status"], "assigned", taskColors.assigned, "en_route", taskColors.en_route, taskColors.on_scene],
          "circle-stroke-width": 4,
        } },
      { id: "ops-task-labels", type: "symbol", source: "ops-tasks", minzoom: 6,
        layout: { "text-field": ["get", "unit"], "text-font": REGULAR, "text-size": 11, "text-anchor": "top", "text-offset": [0, 1.1], "text-optional": true },
        paint: { "text-color": text, "text-halo-color": halo, "text-halo-width": 1.5 } },
      // The route being looked at, over the patrols already out.
      { id: "plan-route-casing", type: "line", source: "plan-route", layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": "#000000", "line-width": 9, "line-opacity": 0.55 } },
      { id: "plan-route", type: "line", source: "plan-route", layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": ["match", ["get", "level"], "low", riskColors.low, "moderate", riskColors.moderate, "high", riskColors.high, "severe", riskColors.severe, "#ffea00"], "line-width": 6 } },
      { id: "plan-points", type: "circle", source: "plan-points",
        paint: { "circle-radius": ["case", ["==", ["get", "end"], true], 6, 0], "circle-color": "#ffffff", "circle-stroke-color": "#000000", "circle-stroke-width": 2 } },
    ];
    for (const l of layers) if (!m.getLayer(l.id)) m.addLayer(l, before);
  }

  // applyTheme recolours the labels for the page's theme.
  applyTheme(theme) {
    const halo = theme === "light" ? "#ffffff" : "#0a1620";
    const text = theme === "light" ? "#12181d" : "#e8eef3";
    for (const id of ["ops-route-labels", "ops-task-labels"]) {
      if (!this.map.getLayer(id)) continue;
      this.map.setPaintProperty(id, "text-color", text);
      this.map.setPaintProperty(id, "text-halo-color", halo);
    }
  }

  // set replaces what the layer shows (a snapshot); upsert takes stream messages.
  set(patrols, tasks) {
    this.patrols.clear();
    this.tasks.clear();
    this.upsert(patrols, tasks);
  }

  upsert(patrols, tasks) {
    for (const p of patrols || []) {
      if (p?.id == null) continue;
      const old = this.patrols.get(p.id);
      if (old && (old.version ?? 0) > (p.version ?? 0)) continue;
      if (active(p)) this.patrols.set(p.id, p);
      else this.patrols.delete(p.id);
    }
    for (const tk of tasks || []) {
      if (tk?.id == null) continue;
      const old = this.tasks.get(tk.id);
      if (old && (old.version ?? 0) > (tk.version ?? 0)) continue;
      if (open(tk)) this.tasks.set(tk.id, tk);
      else this.tasks.delete(tk.id);
    }
    this.draw.schedule();
  }

  // tracksMoved redraws the lines from units to their scenes (coalesced).
  tracksMoved() {
    if (this.tasks.size) this.draw.schedule();
  }

  patrol(id) {
    return this.patrols.get(Number(id));
  }

  task(id) {
    return this.tasks.get(Number(id));
  }

  flushNow() {
    this.draw.now(true);
  }

  // showPlan draws a route: risk segments ([{from, to, level}], from the risk
  // report) when given, else the bare line. null clears it.
  showPlan(line, segments) {
    const routeSrc = this.map.getSource("plan-route");
    const pointSrc = this.map.getSource("plan-points");
    if (!line || line.length < 2) {
      routeSrc?.setData(fc([]));
      pointSrc?.setData(fc([]));
      return;
    }
    let features;
    if (segments?.length) {
      features = segmentLines(line, segments);
    } else {
      features = [{ type: "Feature", properties: { level: "" }, geometry: { type: "LineString", coordinates: line } }];
    }
    routeSrc?.setData(fc(features));
    pointSrc?.setData(fc([line[0], line[line.length - 1]].map((c) => ({ type: "Feature", properties: { end: true }, geometry: { type: "Point", coordinates: c } }))));
  }

  destroy() {
    this.draw.cancel();
  }

  #flush() {
    const routes = [];
    for (const p of this.patrols.values()) {
      const g = p.route;
      if (!g || g.type !== "LineString" || !Array.isArray(g.coordinates)) continue;
      routes.push({ type: "Feature", id: p.id, properties: { id: p.id, status: p.status, name: glyphSafe(p.name) }, geometry: g });
    }
    const points = [], lines = [];
    for (const tk of this.tasks.values()) {
      const c = tk.location?.coordinates;
      if (!c) continue;
      points.push({ type: "Feature", id: tk.id, properties: { id: tk.id, status: tk.status, unit: glyphSafe(tk.unit) }, geometry: { type: "Point", coordinates: c } });
      const from = tk.track_uid ? this.trackPosition(tk.track_uid) : null;
      if (from && tk.status !== "on_scene") {
        lines.push({ type: "Feature", properties: { id: tk.id, status: tk.status }, geometry: { type: "LineString", coordinates: [from, c] } });
      }
    }
    this.map.getSource("ops-routes")?.setData(fc(routes));
    this.map.getSource("ops-tasks")?.setData(fc(points));
    this.map.getSource("ops-task-lines")?.setData(fc(lines));
  }
}

// segmentLines cuts the route into the report's stretches. Each stretch names its
// ends (from, to), which lie on the route; the route's own vertices between them
// are kept, so a winding road keeps its shape in colour.
function segmentLines(line, segments) {
  const out = [];
  // Cumulative distance along the route, in the same planar units for every
  // vertex: enough to order points along it.
  const cum = [0];
  for (let i = 1; i < line.length; i++) cum.push(cum[i - 1] + dist(line[i - 1], line[i]));
  const along = (pt) => {
    let best = { d: Infinity, s: 0 };
    for (let i = 1; i < line.length; i++) {
      const [a, b] = [line[i - 1], line[i]];
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const len2 = dx * dx + dy * dy;
      const k = len2 ? Math.max(0, Math.min(1, ((pt[0] - a[0]) * dx + (pt[1] - a[1]) * dy) / len2)) : 0;
      const q = [a[0] + k * dx, a[1] + k * dy];
      const d = dist(q, pt);
      if (d < best.d) best = { d, s: cum[i - 1] + k * Math.sqrt(len2) };
    }
    return best.s;
  };
  for (const s of segments) {
    const a = s.from?.coordinates, b = s.to?.coordinates;
    if (!a || !b) continue;
    const sa = along(a), sb = along(b);
    const coords = [a];
    for (let i = 0; i < line.length; i++) if (cum[i] > sa && cum[i] < sb) coords.push(line[i]);
    coords.push(b);
    out.push({ type: "Feature", properties: { level: s.level || "" }, geometry: { type: "LineString", coordinates: coords } });
  }
  return out;
}

function dist(a, b) {
  return Math.hypot(b[0] - a[0], b[1] - a[1]);
}
