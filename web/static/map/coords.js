// Coordinate formatting and parsing for the readout and the search box: decimal
// degrees, degrees-minutes-seconds and MGRS. Pure functions, no DOM.
import { forward, toPoint } from "/vendor/mgrs/mgrs.esm.js";

// formatDD writes "4.85123° N, 31.58234° E": hemisphere letters rather than signs,
// because a minus sign is easy to miss on a wall screen and easy to drop on a radio.
export function formatDD(lat, lon, digits = 5) {
  return `${Math.abs(lat).toFixed(digits)}° ${lat < 0 ? "S" : "N"}, ${Math.abs(lon).toFixed(digits)}° ${lon < 0 ? "W" : "E"}`;
}

function dms(v, pos, neg) {
  const a = Math.abs(v);
  let d = Math.floor(a);
  let m = Math.floor((a - d) * 60);
  let s = Math.round(((a - d) * 60 - m) * 600) / 10;
  if (s >= 60) { s = 0; m += 1; }
  if (m >= 60) { m = 0; d += 1; }
  return `${d}°${String(m).padStart(2, "0")}′${s.toFixed(1).padStart(4, "0")}″${v < 0 ? neg : pos}`;
}

// formatDMS writes "4°51′04.4″N 31°34′56.4″E".
export function formatDMS(lat, lon) {
  return `${dms(lat, "N", "S")} ${dms(lon, "E", "W")}`;
}

// formatMGRS writes a 1 m MGRS reference with the usual spaces, "36N TF 12345 67890",
// or "" where MGRS is not defined (the polar caps, served by UPS instead).
export function formatMGRS(lat, lon, accuracy = 5) {
  if (!(lat >= -80 && lat <= 84) || !(lon >= -180 && lon <= 180)) return "";
  let s;
  try {
    s = forward([lon, lat], accuracy);
  } catch {
    return "";
  }
  const m = /^(\d{1,2}[A-Z])([A-Z]{2})(\d*)$/.exec(s);
  if (!m) return s;
  const half = m[3].length / 2;
  return [m[1], m[2], m[3].slice(0, half), m[3].slice(half)].filter(Boolean).join(" ");
}

const mgrsRE = /^(\d{1,2})([C-HJ-NP-X])([A-HJ-NP-Z]{2})(\d{0,10})$/;

// parseMGRS accepts "33PUL 12345 67890", "33PUL1234567890", "33P UL 123 678" and
// returns {lon, lat, zoom} where zoom suits the reference's precision, or null.
export function parseMGRS(input) {
  const s = String(input).replace(/\s+/g, "").toUpperCase();
  const m = mgrsRE.exec(s);
  if (!m || m[4].length % 2 !== 0) return null;
  const zone = Number(m[1]);
  if (zone < 1 || zone > 60) return null;
  let p;
  try {
    p = toPoint(s);
  } catch {
    return null;
  }
  if (!p || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return null;
  const zoom = [8, 10, 12, 14, 16, 17][m[4].length / 2];
  return { lon: p[0], lat: p[1], zoom };
}

const num = /[+-]?\d+(?:[.,]\d+)?/g;

// parseAxis reads one coordinate: "4.85", "-4,85", "4.85N", "N 4.85", "4°51'04\"N",
// "4 51 04 S". It returns {v, hemi} (hemi one of N S E W or "") or null.
function parseAxis(part) {
  let p = part.trim();
  let hemi = "";
  const pre = /^([NSEW])\s*/.exec(p);
  if (pre) { hemi = pre[1]; p = p.slice(pre[0].length); }
  const suf = /\s*([NSEW])$/.exec(p);
  if (suf) {
    if (hemi) return null;
    hemi = suf[1];
    p = p.slice(0, suf.index);
  }
  if (!/^[+-]?\d/.test(p) || /[^\d\s.,°'"+-]/.test(p)) return null;
  const parts = p.match(num);
  if (!parts || parts.length > 3) return null;
  const vals = parts.map((x) => Number(x.replace(",", ".")));
  if (vals.some((x) => !Number.isFinite(x))) return null;
  const neg = vals[0] < 0 || parts[0].startsWith("-");
  const [d, m = 0, s = 0] = vals.map(Math.abs);
  if (vals.length > 1 && (!Number.isInteger(d) || m >= 60 || s >= 60)) return null;
  if (vals.length > 2 && !Number.isInteger(m)) return null;
  let v = d + m / 60 + s / 3600;
  if (neg) v = -v;
  if (hemi === "S" || hemi === "W") v = -Math.abs(v);
  return { v, hemi };
}

// splitPair cuts a "lat, lon" string into its two halves. A comma is either the
// separator ("4.85, 31.6") or a decimal comma as French keyboards type it
// ("4,85 31,6" or "4,85; 31,6"), told apart by what else is in the string.
function splitPair(s) {
  if (s.includes(";")) return s.split(";");
  // Hemisphere letters: cut before a second prefix letter or after a suffix letter.
  let m = /^([NSEW][^NSEW]+?)\s*[,]?\s*([NSEW][^NSEW]+)$/.exec(s);
  if (m) return [m[1], m[2]];
  m = /^(.*?\d\S*\s*[NS])\s*,?\s*(.+)$/.exec(s) || /^(.*?\d\S*\s*[EW])\s*,?\s*(.+)$/.exec(s);
  if (m && /\d/.test(m[2])) return [m[1], m[2]];
  if (/,\s+/.test(s)) {
    const parts = s.split(/\s*,\s+/);
    if (parts.length === 2) return parts;
  }
  const ws = s.split(/\s+/).filter(Boolean);
  if (ws.length === 2) return ws;
  if (ws.length === 4 || ws.length === 6) return [ws.slice(0, ws.length / 2).join(" "), ws.slice(ws.length / 2).join(" ")];
  const commas = s.split(",");
  if (commas.length === 2) return commas;
  return null;
}

// parseLatLon reads a latitude/longitude pair typed by a person: decimal or DMS,
// separated by a comma, a semicolon or a space, with or without N/S/E/W. Without
// letters the order is latitude then longitude. It returns {lat, lon} or null.
export function parseLatLon(input) {
  const s = String(input).trim().toUpperCase()
    .replace(/[′’`]/g, "'").replace(/[″“”]/g, '"').replace(/º/g, "°").replace(/\s+/g, " ");
  if (!s || !/\d/.test(s)) return null;
  const pair = splitPair(s);
  if (!pair) return null;
  let a = parseAxis(pair[0]);
  let b = parseAxis(pair[1]);
  if (!a || !b) return null;
  if ("EW".includes(a.hemi) && a.hemi && (!b.hemi || "NS".includes(b.hemi))) [a, b] = [b, a];
  if ((a.hemi && !"NS".includes(a.hemi)) || (b.hemi && !"EW".includes(b.hemi))) return null;
  const lat = a.v, lon = b.v;
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return null;
  return { lat, lon };
}
