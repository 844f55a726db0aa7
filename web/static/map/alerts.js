// Alerts with a location: a circle in the style (clickable, layer "alerts") and, for
// open alerts, a pulsing ring. The ring is an HTML element animated by CSS rather
// than a paint property changed every frame: repainting the whole map sixty times a
// second would keep a wall screen's GPU busy and the map would never be "idle".
// Browsers stop CSS animations in hidden pages; visibilitychange pauses them too.
import { Coalescer, fc } from "./util.js";

const MAX_PULSES = 200; // more rings than this is noise, and DOM work on every move

export class Alerts {
  constructor(map, maplibregl) {
    this.map = map;
    this.maplibregl = maplibregl;
    this.all = new Map();
    this.pulses = new Map(); // id → Marker
    this.visible = true;
    this.draw = new Coalescer(() => this.#flush(), 100);
    this.onVis = () => map.getContainer().classList.toggle("bh-paused", document.hidden);
    document.addEventListener("visibilitychange", this.onVis);
  }

  set(alerts) {
    this.all.clear();
    this.upsert(alerts);
  }

  // upsert keeps the highest version of each alert; resolved alerts leave the map.
  upsert(alerts) {
    for (const a of alerts || []) {
      if (a?.id == null) continue;
      const old = this.all.get(a.id);
      if (old && (old.version ?? 0) > (a.version ?? 0)) continue;
      if (a.state === "resolved") this.all.delete(a.id);
      else this.all.set(a.id, a);
    }
    this.draw.schedule();
  }

  get(id) {
    return this.all.get(id) || this.all.get(Number(id));
  }

  setVisible(on) {
    this.visible = on;
    this.draw.schedule();
  }

  flushNow() {
    this.draw.now(true);
  }

  // focus draws a short, stronger pulse around one alert.
  focus(id) {
    const a = this.get(id);
    const c = a?.location?.coordinates;
    if (!c) return null;
    const el = document.createElement("div");
    el.className = "bh-pulse bh-pulse--focus";
    el.setAttribute("aria-hidden", "true");
    const m = new this.maplibregl.Marker({ element: el }).setLngLat(c).addTo(this.map);
    setTimeout(() => m.remove(), 4000);
    return c;
  }

  destroy() {
    this.draw.cancel();
    document.removeEventListener("visibilitychange", this.onVis);
    for (const m of this.pulses.values()) m.remove();
    this.pulses.clear();
  }

  #flush() {
    const feats = [];
    const open = [];
    for (const a of this.all.values()) {
      const c = a.location?.coordinates;
      if (!Array.isArray(c)) continue;
      feats.push({
        type: "Feature", id: a.id, geometry: { type: "Point", coordinates: [c[0], c[1]] },
        properties: { id: a.id, severity: a.severity || "info", state: a.state || "open" },
      });
      if (a.state === "open" && this.visible) open.push(a);
    }
    this.map.getSource("alerts")?.setData(fc(feats));
    // Most severe first, so the cap drops info alerts before critical ones.
    const rank = { critical: 0, warning: 1, info: 2 };
    open.sort((x, y) => (rank[x.severity] ?? 3) - (rank[y.severity] ?? 3));
    const keep = new Set();
    for (const a of open.slice(0, MAX_PULSES)) {
      keep.add(a.id);
      const c = a.location.coordinates;
      let m = this.pulses.get(a.id);
      if (!m) {
        const el = document.createElement("div");
        el.setAttribute("aria-hidden", "true");
        m = new this.maplibregl.Marker({ element: el }).setLngLat(c).addTo(this.map);
        this.pulses.set(a.id, m);
      } else {
        m.setLngLat(c);
      }
      const cl = m.getElement().classList;
      cl.add("bh-pulse");
      for (const s of ["critical", "warning", "info"]) cl.toggle("bh-pulse--" + s, (a.severity || "info") === s);
    }
    for (const [id, m] of this.pulses) {
      if (!keep.has(id)) {
        m.remove();
        this.pulses.delete(id);
      }
    }
  }
}
