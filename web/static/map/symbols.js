// Military symbols from MIL-STD-2525 / APP-6 codes (milsymbol), and what the map
// needs to know about a code: its affiliation.
import { loadScript } from "./util.js";

// loadMilsymbol resolves to milsymbol's global `ms`: it is a classic script, so it
// is run with a <script> element rather than imported.
export function loadMilsymbol() {
  return loadScript("/vendor/milsymbol/milsymbol.js", "ms");
}

// Affiliation colours for lines and swatches (trails, legend), close to the frame
// fills of MIL-STD-2525 / APP-6 so that a trail reads as belonging to its symbol.
export const affiliationColors = {
  friend: "#4fc3f7",
  hostile: "#ff5252",
  neutral: "#66e08a",
  unknown: "#ffe14d",
};

// affiliation reads the standard identity from a 2525C/APP-6B letter code (second
// character) or a 2525D/E / APP-6D numeric code (fourth digit).
export function affiliation(sidc) {
  if (!sidc) return "unknown";
  if (/^\d{20}/.test(sidc)) {
    switch (sidc[3]) {
      case "2": case "3": return "friend";
      case "4": return "neutral";
      case "5": case "6": return "hostile";
      default: return "unknown";
    }
  }
  switch (sidc[1]?.toUpperCase()) {
    case "F": case "A": case "D": case "M": return "friend";
    case "H": case "S": case "J": case "K": return "hostile";
    case "N": case "L": return "neutral";
    default: return "unknown";
  }
}

const kindCodes = {
  unit: "GPU----------",
  vehicle: "GPEV---------",
  aircraft: "AP-----------",
  uav: "APMFQ--------",
  person: "GPU----------",
  sensor: "GPES---------",
};

// sidcFor gives a track's symbol code: its own, or one built from its CoT type's
// affiliation letter and its kind, so that a track without a code still draws.
export function sidcFor(track) {
  const s = track.sidc;
  if (s && (/^\d{20}(\d{10})?$/.test(s) || /^[A-Z*-][A-Z*-]/i.test(s))) return s.toUpperCase();
  let aff = "U";
  const m = /^a-([a-z])-/.exec(track.cot_type || "");
  if (m) aff = { f: "F", a: "A", h: "H", s: "S", n: "N", u: "U", p: "P", j: "J", k: "K" }[m[1]] || "U";
  return "S" + aff + (kindCodes[track.kind] || "GP-----------");
}

// symbolImage draws a symbol centred on its anchor (milsymbol anchors are not always
// the middle: headquarters staffs and echelon marks shift them), at size css pixels
// and device pixel ratio dpr, optionally greyed for a stale track.
export function symbolImage(ms, sidc, { size = 22, dpr = 1, stale = false } = {}) {
  const sym = new ms.Symbol(sidc, { size, outlineWidth: 3, outlineColor: "rgba(255,255,255,0.85)", infoFields: false });
  const src = cpuCanvas(() => sym.asCanvas(dpr));
  const a = sym.getAnchor();
  const ax = a.x * dpr, ay = a.y * dpr;
  const w = Math.ceil(2 * Math.max(ax, src.width - ax));
  const h = Math.ceil(2 * Math.max(ay, src.height - ay));
  const c = document.createElement("canvas");
  c.width = Math.max(1, w);
  c.height = Math.max(1, h);
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(src, Math.round(w / 2 - ax), Math.round(h / 2 - ay));
  const img = ctx.getImageData(0, 0, c.width, c.height);
  if (stale) {
    // Grey it out: luminance only, pulled towards a mid grey, so a stale friend and a
    // stale hostile look alike at a glance yet the icon's shape stays readable.
    const d = img.data;
    for (let i = 0; i < d.length; i += 4) {
      const l = 0.3 * d[i] + 0.59 * d[i + 1] + 0.11 * d[i + 2];
      const g = 90 + l * 0.45;
      d[i] = d[i + 1] = d[i + 2] = g;
    }
  }
  return { data: img, pixelRatio: dpr };
}

// cpuCanvas runs fn with every 2D canvas it creates kept in main memory
// (willReadFrequently). milsymbol draws into a canvas of its own, and reading back a
// GPU canvas to hand its pixels to the map stalls the GPU (and Chromium says so in
// the console); a software canvas is also faster for these small images.
function cpuCanvas(fn) {
  const proto = HTMLCanvasElement.prototype;
  const orig = proto.getContext;
  proto.getContext = function (type, attrs) {
    return type === "2d" ? orig.call(this, type, { ...attrs, willReadFrequently: true }) : orig.call(this, type, attrs);
  };
  try {
    return fn();
  } finally {
    proto.getContext = orig;
  }
}

// legendSymbol is a small canvas of a symbol for the legend.
export function legendSymbol(ms, sidc, size = 14) {
  const c = cpuCanvas(() => new ms.Symbol(sidc, { size, infoFields: false }).asCanvas(window.devicePixelRatio || 1));
  c.style.width = c.width / (window.devicePixelRatio || 1) + "px";
  c.style.height = c.height / (window.devicePixelRatio || 1) + "px";
  c.setAttribute("aria-hidden", "true");
  return c;
}
