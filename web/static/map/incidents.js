// Incidents: every incident the page was given, filtered by time in the page and
// handed to a clustered source. A clustered source cannot be filtered by a layer
// filter (the clusters are made before layers see anything), so the source data is
// rebuilt from the matching features. A loop over 20,000 prepared features takes
// well under a millisecond; the copy to the worker, value by value, is what costs
// (see #put).
import { categoryColors } from "./palette.js";
import { Coalescer, fc } from "./util.js";

export class Incidents {
  constructor(map) {
    this.map = map;
    this.all = new Map(); // id → {f: feature drawn, t: ms occurred, p: properties for people}
    this.ext = [null, null]; // setIncidentTimeFilter
    this.slider = [null, null]; // the time slider's window
    this.shown = 0;
    this.draw = new Coalescer(() => this.#flush(), 100);
    // Not drawn until flushNow (the map's first picture): the stream's few hundred
    // latest incidents usually come before the whole set, and clustering them first
    // is work thrown away a moment later.
    this.held = true;
  }

  // set replaces everything with the answer of /api/v1/incidents/map: one array per
  // field (see mapColumns in the server), with categories and statuses as indexes
  // into its dictionaries.
  set(cols) {
    // The map may have been given this answer early (see createMap's opts.incidents):
    // the same answer again would only redo the worker's clustering.
    if (cols && cols === this.given) return;
    this.given = cols;
    this.all.clear();
    const n = Number(cols?.count) || 0;
    const c = cols || {};
    const cats = c.categories || [], statuses = c.statuses || [];
    for (let i = 0; i < n; i++) {
      const id = c.id[i], lon = c.lon[i], lat = c.lat[i];
      if (id == null || !Number.isFinite(lon) || !Number.isFinite(lat)) continue;
      this.#put(id, lon, lat, cats[c.category[i]], statuses[c.status[i]], c.title[i], c.version[i], c.occurred[i], c.killed[i], c.injured[i]);
    }
    this.draw.schedule();
  }

  // upsert merges full Incident json from the stream, keeping the higher version.
  upsert(incidents) {
    let changed = false;
    for (const inc of incidents) {
      if (inc?.id == null) continue;
      const old = this.all.get(inc.id);
      // The same version is the same report: the stream's snapshot repeats the
      // newest few hundred of the whole set, and redrawing for them is the whole
      // clustering again.
      if (old && (old.p.version ?? 0) >= (inc.version ?? 0)) continue;
      const c = inc.location?.coordinates;
      if (!Array.isArray(c)) continue;
      let killed = 0, injured = 0;
      for (const k of inc.casualties || []) {
        if (k.kind === "killed") killed += k.best || 0;
        else if (k.kind === "injured") injured += k.best || 0;
      }
      this.#put(inc.id, c[0], c[1], inc.category, inc.status, inc.title, inc.version, Date.parse(inc.occurred_start), killed, injured);
      changed = true;
    }
    if (changed) this.draw.schedule();
  }

  remove(ids) {
    for (const id of ids) this.all.delete(id);
    this.draw.schedule();
  }

  get(id) {
    return this.all.get(id) || this.all.get(Number(id));
  }

  setExternalFilter(from, to) {
    this.ext = [toMs(from), toMs(to)];
    this.draw.schedule();
  }

  setSliderFilter(from, to) {
    this.slider = [toMs(from), toMs(to)];
    this.draw.schedule();
  }

  // flushNow draws at once: always the first time (even nothing is a picture),
  // after that only what changed.
  flushNow() {
    const first = this.held;
    this.held = false;
    this.draw.now(first);
  }

  destroy() {
    this.draw.cancel();
  }

  // #put keeps one incident: t (ms occurred) for the time filter, p for people (the
  // hover text) and f, the feature given to the map. The feature carries only what
  // the style and the clicks read: the map copies every value of every feature to
  // its worker, and at 20,000 incidents that copy is on the way to the first picture.
  #put(id, lon, lat, category, status, title, version, occurred, killed, injured) {
    killed = Number(killed) || 0;
    injured = Number(injured) || 0;
    status = status || "";
    this.all.set(id, {
      t: Number(occurred) || 0,
      p: { id, category, status, title, version, killed, injured },
      f: {
        type: "Feature",
        geometry: { type: "Point", coordinates: [lon, lat] },
        properties: { id, category: categoryColors[category] ? category : "other", status, killed, cas: killed + injured },
      },
    });
  }

  #flush() {
    const src = this.map.getSource("incidents");
    if (!src || this.held) return;
    const lo = Math.max(this.ext[0] ?? -Infinity, this.slider[0] ?? -Infinity);
    const hi = Math.min(this.ext[1] ?? Infinity, this.slider[1] ?? Infinity);
    const out = [];
    if (lo === -Infinity && hi === Infinity) {
      for (const it of this.all.values()) out.push(it.f);
    } else {
      for (const it of this.all.values()) if (it.t >= lo && it.t <= hi) out.push(it.f);
    }
    this.shown = out.length;
    src.setData(fc(out));
  }
}

function toMs(d) {
  if (d == null || d === "") return null;
  const v = d instanceof Date ? d.getTime() : typeof d === "number" ? d : Date.parse(d);
  return Number.isFinite(v) ? v : null;
}
