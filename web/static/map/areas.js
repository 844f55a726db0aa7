// Areas (AOR, camps, no-go zones, patrol sectors, routes) and their name labels.
import { labelPoint } from "./basemap.js";
import { Coalescer, fc, glyphSafe } from "./util.js";

export class Areas {
  constructor(map) {
    this.map = map;
    this.all = new Map();
    this.draw = new Coalescer(() => this.#flush(), 100);
  }

  set(areas) {
    this.all.clear();
    this.upsert(areas);
  }

  upsert(areas) {
    for (const a of areas || []) {
      if (a?.id == null || !a.geometry?.type) continue;
      const old = this.all.get(a.id);
      if (old && (old.version ?? 0) > (a.version ?? 0)) continue;
      this.all.set(a.id, a);
    }
    this.draw.schedule();
  }

  remove(id) {
    this.all.delete(id) || this.all.delete(Number(id));
    this.draw.schedule();
  }

  get(id) {
    return this.all.get(id) || this.all.get(Number(id));
  }

  flushNow() {
    this.draw.now(true);
  }

  destroy() {
    this.draw.cancel();
  }

  #flush() {
    const shapes = [], labels = [];
    for (const a of this.all.values()) {
      const props = { id: a.id, name: glyphSafe(a.name), kind: a.kind || "" };
      shapes.push({ type: "Feature", id: a.id, properties: props, geometry: a.geometry });
      if (a.geometry.type !== "LineString" && a.name) {
        const p = labelPoint(a.geometry);
        if (p) labels.push({ type: "Feature", properties: props, geometry: { type: "Point", coordinates: p } });
      }
    }
    this.map.getSource("areas")?.setData(fc(shapes));
    this.map.getSource("area-labels")?.setData(fc(labels));
  }
}
