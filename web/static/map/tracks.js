// Live tracks: one feature per track uid, its short trail, and its staleness.
// Updates are merged into a Map and drawn at most once a second (see Coalescer),
// less often when frames are dear (see FrameMeter): with 2,000 tracks reporting
// every 10 s the stream brings a few positions every frame, each setData copies the
// whole collection to the worker, and each redraw costs the map a frame per tile it
// reloads (on a software-rendered browser ~100 ms each, blocking the page); a
// track moves a few pixels between two of its reports. Tracks and trails are drawn
// together, so that their tiles reload in the same frames.
import { affiliation, sidcFor } from "./symbols.js";
import { Coalescer, fc, glyphSafe } from "./util.js";

const TRAIL_SECONDS = 600; // trails show the last ten minutes…
const TRAIL_POINTS = 40; // …and at most this many fixes
const MOVING_SPEED = 0.5; // m/s: slower than this is parked, and has no heading tick
// Trails are drawn from this zoom on (the "trails" layer's minzoom). Below it ten
// minutes of a vehicle's trail is a few pixels, under its own symbol, and keeping a
// source of 2,000 lines current for it would cost a frame per redraw.
export const TRAILS_MINZOOM = 6;

export class Tracks {
  constructor(map, { staleAfterSeconds = 300, frameMeter = null } = {}) {
    this.map = map;
    this.staleMs = Math.max(1, staleAfterSeconds) * 1000;
    this.items = new Map();
    this.live = true;
    this.trailsOn = true;
    this.replay = null; // {features, trails} while the time slider shows the past
    // Nothing is drawn until the map has everything for its first picture (see
    // holdUntil): positions keep streaming meanwhile, and drawing each batch would
    // keep the worker busy with pictures nobody sees.
    this.held = true;
    // One pace for both: a redraw at least a second apart, and twenty frames' cost
    // apart when frames are dear (2 s at ~100 ms a frame).
    const pace = frameMeter ? () => frameMeter.interval(1000, 20) : 1000;
    this.draw = new Coalescer(() => {
      this.#flushTracks();
      this.#flushTrails();
    }, pace);
    // Trails below TRAILS_MINZOOM are not kept current; crossing it draws them.
    this.trailsShown = false;
    this.onZoom = () => {
      if (!this.held && (map.getZoom() >= TRAILS_MINZOOM) !== this.trailsShown) this.draw.schedule();
    };
    map.on("zoomend", this.onZoom);
    // A track turns stale with no message arriving, so look again now and then.
    this.staleTimer = setInterval(() => this.#restale(), 5000);
  }

  // upsert merges TrackState json (Track fields + position); older fixes than the one
  // held are ignored, since the stream may repeat or reorder around a snapshot.
  upsert(states) {
    for (const s of states) {
      const p = s?.position;
      if (!s?.uid || !p || !Number.isFinite(p.lon) || !Number.isFinite(p.lat)) continue;
      const t = Date.parse(p.time) || Date.now();
      let it = this.items.get(s.uid);
      if (it && t < it.t) continue;
      if (!it) {
        it = {
          t, trail: [],
          feature: { type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: { uid: s.uid } },
        };
        this.items.set(s.uid, it);
      }
      it.track = s;
      it.t = t;
      const sidc = sidcFor(s);
      const moving = (p.speed ?? 0) > MOVING_SPEED;
      const pr = it.feature.properties;
      pr.callsign = glyphSafe(s.callsign || s.uid);
      pr.icon = "ms:" + sidc;
      pr.aff = s.affiliation || affiliation(sidc);
      pr.kind = s.kind || "";
      pr.course = Math.round(p.course ?? 0);
      pr.moving = moving;
      pr.stale = Date.now() - t > this.staleMs;
      it.feature.geometry.coordinates = [p.lon, p.lat];
      const last = it.trail[it.trail.length - 1];
      if (!last || (t > last[2] * 1000 && (last[0] !== p.lon || last[1] !== p.lat))) it.trail.push([p.lon, p.lat, t / 1000]);
      const cut = t / 1000 - TRAIL_SECONDS;
      let drop = 0;
      while (drop < it.trail.length - 1 && (it.trail[drop][2] < cut || it.trail.length - drop > TRAIL_POINTS)) drop++;
      if (drop) it.trail.splice(0, drop);
    }
    this.#changed();
  }

  remove(uids) {
    for (const u of uids) this.items.delete(u);
    this.#changed();
  }

  clear() {
    this.items.clear();
    this.#changed();
  }

  get(uid) {
    return this.items.get(uid);
  }

  get size() {
    return this.items.size;
  }

  // setLive(false) holds live positions (they are kept, not drawn) while the time
  // slider shows the past; setLive(true) draws the held state again.
  setLive(live) {
    this.live = live;
    if (live) this.replay = null;
    this.#changed();
  }

  // showReplay draws a frame of the past: features and trails built by the replay.
  showReplay(features, trails) {
    this.replay = { features, trails };
    this.draw.schedule();
  }

  setTrailsVisible(on) {
    this.trailsOn = on;
    this.draw.schedule();
  }

  // flushNow draws what is pending at once (for the first paint).
  flushNow() {
    this.draw.now(true);
  }

  destroy() {
    clearInterval(this.staleTimer);
    this.map.off("zoomend", this.onZoom);
    this.draw.cancel();
  }

  // holdUntil keeps the drawn tracks as they are until promise settles (updates are
  // kept): the first picture must come to rest once, even while positions stream.
  holdUntil(promise) {
    this.held = true;
    const go = () => {
      this.held = false;
      this.#changed();
    };
    promise.then(go, go);
  }

  #changed() {
    if (!this.live || this.held) return;
    this.draw.schedule();
  }

  #restale() {
    if (!this.live) return;
    const now = Date.now();
    let changed = false;
    for (const it of this.items.values()) {
      const s = now - it.t > this.staleMs;
      if (s !== it.feature.properties.stale) {
        it.feature.properties.stale = s;
        changed = true;
      }
    }
    if (changed) this.#changed();
  }

  #flushTracks() {
    const src = this.map.getSource("tracks");
    if (!src) return;
    if (!this.live) {
      src.setData(fc(this.replay?.features || []));
      return;
    }
    const now = Date.now();
    const features = new Array(this.items.size);
    let i = 0;
    for (const it of this.items.values()) {
      it.feature.properties.stale = now - it.t > this.staleMs;
      features[i++] = it.feature;
    }
    src.setData(fc(features));
  }

  #flushTrails() {
    const src = this.map.getSource("trails");
    if (!src) return;
    const shown = this.trailsOn && this.map.getZoom() >= TRAILS_MINZOOM;
    if (!shown) {
      if (this.trailsShown !== false) src.setData(fc([]));
      this.trailsShown = false;
      return;
    }
    this.trailsShown = true;
    if (!this.live) {
      src.setData(fc(this.replay?.trails || []));
      return;
    }
    const out = [];
    for (const it of this.items.values()) {
      if (it.trail.length < 2) continue;
      out.push({
        type: "Feature",
        properties: { aff: it.feature.properties.aff, stale: it.feature.properties.stale },
        geometry: { type: "LineString", coordinates: it.trail.map((p) => [p[0], p[1]]) },
      });
    }
    src.setData(fc(out));
  }
}

// Replay holds the answer of GET /api/v1/positions/replay and builds the frame for
// any moment of it: per track, its last fix at or before that moment (binary search
// in the track's own fixes) and the fixes of the ten minutes before.
export class Replay {
  constructor(data, staleAfterSeconds = 300) {
    this.tracks = data.tracks || [];
    this.staleS = staleAfterSeconds;
    const n = this.tracks.length;
    const per = Array.from({ length: n }, () => []);
    for (const f of data.fixes || []) {
      if (Array.isArray(f) && f[0] >= 0 && f[0] < n) per[f[0]].push(f);
    }
    this.per = per.map((a) => {
      a.sort((x, y) => x[1] - y[1]);
      return { fixes: a, times: Float64Array.from(a, (x) => x[1]) };
    });
    this.meta = this.tracks.map((t) => {
      const sidc = sidcFor(t);
      return { uid: t.uid, callsign: glyphSafe(t.callsign || t.uid), icon: "ms:" + sidc, aff: t.affiliation || affiliation(sidc), kind: t.kind || "" };
    });
    this.count = (data.fixes || []).length;
  }

  // frame returns {features, trails} for unix time t (seconds).
  frame(t) {
    const features = [], trails = [];
    for (let i = 0; i < this.per.length; i++) {
      const { fixes, times } = this.per[i];
      let lo = 0, hi = times.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (times[mid] <= t) lo = mid + 1;
        else hi = mid;
      }
      const k = lo - 1;
      if (k < 0) continue;
      const f = fixes[k];
      const m = this.meta[i];
      const stale = t - f[1] > this.staleS;
      const prev = k > 0 ? fixes[k - 1] : null;
      const moving = !stale && f[4] != null && prev != null && (prev[2] !== f[2] || prev[3] !== f[3]);
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [f[2], f[3]] },
        properties: { uid: m.uid, callsign: m.callsign, icon: m.icon, aff: m.aff, kind: m.kind, course: Math.round(f[4] ?? 0), moving, stale, t: f[1] },
      });
      const coords = [];
      for (let j = k; j >= 0 && fixes[j][1] >= f[1] - TRAIL_SECONDS && coords.length < TRAIL_POINTS; j--) coords.push([fixes[j][2], fixes[j][3]]);
      if (coords.length > 1) trails.push({ type: "Feature", properties: { aff: m.aff, stale }, geometry: { type: "LineString", coordinates: coords } });
    }
    return { features, trails };
  }
}
