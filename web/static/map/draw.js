// One-shot interactions asked for by the app: pick a point (the incident form),
// draw a polygon (the incident list's area filter) and draw a line (a patrol's
// route). Each shows a hint with buttons,
// so it works by mouse, by touch and by keyboard (Enter uses the map centre, which
// a crosshair marks), and Esc cancels.
import { el, fc, retranslate } from "./util.js";

export class Interactions {
  constructor(map, container) {
    this.map = map;
    this.container = container;
    this.mode = null; // "point" | "polygon" | "line"
    this.done = null;
    this.hint = el("div", { class: "bh-hint", role: "region", "aria-live": "polite", hidden: true, i18nAria: "map.hint.region" });
    this.cross = el("div", { class: "bh-crosshair", hidden: true, "aria-hidden": "true" });
    container.append(this.hint, this.cross);
    this.onKey = this.onKey.bind(this);
    this.onClick = this.onClick.bind(this);
    this.onMove = this.onMove.bind(this);
    this.onDbl = this.onDbl.bind(this);
  }

  get active() {
    return this.mode != null;
  }

  pickPoint() {
    return this.#start("point", () => {
      this.hint.replaceChildren(
        el("p", { i18n: "map.pick.hint" }),
        el("div", { class: "bh-hint-buttons" },
          el("button", { type: "button", class: "bh-btn", i18n: "map.pick.centre", onclick: () => this.#pickAt(this.map.getCenter()) }),
          el("button", { type: "button", class: "bh-btn", i18n: "map.cancel", onclick: () => this.cancel() })),
      );
    });
  }

  drawPolygon() {
    this.vertices = [];
    this.preview = null;
    return this.#start("polygon", () => {
      this.finishBtn = el("button", { type: "button", class: "bh-btn bh-btn-primary", i18n: "map.draw.finish", disabled: true, onclick: () => this.#finishPolygon() });
      this.undoBtn = el("button", { type: "button", class: "bh-btn", i18n: "map.draw.undo", disabled: true, onclick: () => this.#undo() });
      this.hint.replaceChildren(
        el("p", { i18n: "map.draw.hint" }),
        el("div", { class: "bh-hint-buttons" },
          el("button", { type: "button", class: "bh-btn", i18n: "map.draw.addCentre", onclick: () => this.#addVertex(this.map.getCenter()) }),
          this.undoBtn, this.finishBtn,
          el("button", { type: "button", class: "bh-btn", i18n: "map.cancel", onclick: () => this.cancel() })),
      );
      this.map.doubleClickZoom.disable();
    });
  }

  // drawLine asks for a route: clicks add waypoints in order, Finish (or a double
  // click, or Enter) ends it with at least two. start: waypoints to continue from.
  drawLine(start = []) {
    this.vertices = start.map((p) => [round(p[0]), round(p[1])]);
    this.preview = null;
    const p = this.#start("line", () => {
      this.finishBtn = el("button", { type: "button", class: "bh-btn bh-btn-primary", i18n: "map.draw.finish", disabled: true, onclick: () => this.#finishLine() });
      this.undoBtn = el("button", { type: "button", class: "bh-btn", i18n: "map.drawLine.undo", disabled: true, onclick: () => this.#undo() });
      this.hint.replaceChildren(
        el("p", { i18n: "map.drawLine.hint" }),
        el("div", { class: "bh-hint-buttons" },
          el("button", { type: "button", class: "bh-btn", i18n: "map.draw.addCentre", onclick: () => this.#addVertex(this.map.getCenter()) }),
          this.undoBtn, this.finishBtn,
          el("button", { type: "button", class: "bh-btn", i18n: "map.cancel", onclick: () => this.cancel() })),
      );
      this.map.doubleClickZoom.disable();
    });
    this.#render();
    return p;
  }

  cancel() {
    this.#end(null);
  }

  relabel() {
    retranslate(this.hint);
  }

  destroy() {
    this.cancel();
    this.hint.remove();
    this.cross.remove();
  }

  #start(mode, build) {
    this.cancel();
    this.mode = mode;
    this.returnFocus = document.activeElement;
    build();
    this.hint.hidden = false;
    this.cross.hidden = false;
    this.container.classList.add("bh-interacting");
    document.addEventListener("keydown", this.onKey, true);
    this.map.on("click", this.onClick);
    this.map.on("mousemove", this.onMove);
    this.map.on("dblclick", this.onDbl);
    this.hint.querySelector("button")?.focus({ preventScroll: true });
    return new Promise((resolve) => { this.done = resolve; });
  }

  #end(result) {
    if (!this.mode) return;
    const wasPolygon = this.mode === "polygon" || this.mode === "line";
    this.mode = null;
    document.removeEventListener("keydown", this.onKey, true);
    this.map.off("click", this.onClick);
    this.map.off("mousemove", this.onMove);
    this.map.off("dblclick", this.onDbl);
    this.hint.hidden = true;
    this.cross.hidden = true;
    this.hint.replaceChildren();
    this.container.classList.remove("bh-interacting");
    if (wasPolygon) {
      this.map.getSource("draw")?.setData(fc([]));
      // Let the dblclick that finished the drawing pass before zooming is back.
      setTimeout(() => this.map.doubleClickZoom.enable(), 0);
    }
    const done = this.done;
    this.done = null;
    if (this.returnFocus?.isConnected) this.returnFocus.focus({ preventScroll: true });
    done?.(result);
  }

  onKey(e) {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      this.cancel();
      return;
    }
    // Keys typed into a field elsewhere are not ours.
    const t = e.target;
    if (t && !this.hint.contains(t) && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
    if (e.key === "Enter" && (!t || !this.hint.contains(t) || t.tagName !== "BUTTON")) {
      e.preventDefault();
      if (this.mode === "point") this.#pickAt(this.map.getCenter());
      else if (this.mode === "line") this.#finishLine();
      else this.#finishPolygon();
    } else if ((this.mode === "polygon" || this.mode === "line") && (e.key === "Backspace" || e.key === "Delete")) {
      e.preventDefault();
      this.#undo();
    }
  }

  onClick(e) {
    if (this.mode === "point") this.#pickAt(e.lngLat);
    else if (this.mode === "polygon") {
      const v = this.vertices;
      if (v.length >= 3) {
        // A click or tap on the first vertex closes the shape.
        const p0 = this.map.project(v[0]);
        const tol = this.coarse ? 22 : 12;
        if (Math.hypot(p0.x - e.point.x, p0.y - e.point.y) <= tol) {
          this.#finishPolygon();
          return;
        }
      }
      this.#addVertex(e.lngLat);
    } else if (this.mode === "line") this.#addVertex(e.lngLat);
  }

  onDbl(e) {
    if (this.mode !== "polygon" && this.mode !== "line") return;
    e.preventDefault();
    // The two clicks of a double click each added a vertex at the same spot.
    const v = this.vertices;
    if (v.length >= 2) {
      const a = this.map.project(v[v.length - 1]), b = this.map.project(v[v.length - 2]);
      if (Math.hypot(a.x - b.x, a.y - b.y) < 6) v.pop();
    }
    if (this.mode === "line") this.#finishLine();
    else this.#finishPolygon();
  }

  onMove(e) {
    if ((this.mode !== "polygon" && this.mode !== "line") || !this.vertices.length) return;
    this.preview = [e.lngLat.lng, e.lngLat.lat];
    this.#render();
  }

  // setCoarse tells whether the last pointer was a finger (bigger tolerance).
  setCoarse(coarse) {
    this.coarse = coarse;
  }

  #pickAt(ll) {
    const w = ll.wrap ? ll.wrap() : ll;
    this.#end({ lon: round(w.lng), lat: round(w.lat) });
  }

  #addVertex(ll) {
    const w = ll.wrap ? ll.wrap() : ll;
    this.vertices.push([round(w.lng), round(w.lat)]);
    this.#render();
  }

  #undo() {
    this.vertices.pop();
    this.#render();
  }

  #finishPolygon() {
    if (this.vertices.length < 3) return;
    const ring = [...this.vertices, this.vertices[0]];
    this.#end(ring);
  }

  #finishLine() {
    if (this.vertices.length < 2) return;
    this.#end(this.vertices.slice());
  }

  #render() {
    const v = this.vertices;
    const f = [];
    const line = this.preview && v.length ? [...v, this.preview] : v;
    const isLine = this.mode === "line";
    if (v.length >= 3 && !isLine) f.push({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [[...line, v[0]]] } });
    else if (line.length >= 2) f.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: line } });
    v.forEach((p, i) => f.push({ type: "Feature", properties: { first: i === 0 }, geometry: { type: "Point", coordinates: p } }));
    this.map.getSource("draw")?.setData(fc(f));
    if (this.finishBtn) this.finishBtn.disabled = v.length < (isLine ? 2 : 3);
    if (this.undoBtn) this.undoBtn.disabled = v.length === 0;
  }
}

function round(x) {
  return Math.round(x * 1e6) / 1e6;
}

