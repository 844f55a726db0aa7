// Reading and writing places as people type them in the field: MGRS (what patrols
// read off their GPS) or "lat, lon" in decimal degrees.

let mgrsLib = null;
let mgrsTried = false;

async function loadMGRS() {
  if (!mgrsTried) {
    mgrsTried = true;
    try {
      mgrsLib = await import("/vendor/mgrs/mgrs.esm.js");
    } catch {
      mgrsLib = null; // typed lat/lon still works
    }
  }
  return mgrsLib;
}

// Warm the converter early so that the form's first keystroke need not wait.
export function preloadMGRS() {
  loadMGRS();
}

const latLonRE = /^\s*([-+]?\d{1,2}(?:[.,]\d+)?)\s*°?\s*([NS])?\s*[,;\s]\s*([-+]?\d{1,3}(?:[.,]\d+)?)\s*°?\s*([EW])?\s*$/i;

// parsePlace reads text as lat/lon or MGRS. Resolves {lon, lat, mgrs} or throws
// an Error whose message is a catalogue key (coords.invalid, coords.noMGRS).
export async function parsePlace(text) {
  const s = String(text || "").trim();
  if (!s) throw new Error("coords.empty");
  const m = s.match(latLonRE);
  if (m) {
    let lat = Number(m[1].replace(",", "."));
    let lon = Number(m[3].replace(",", "."));
    if (m[2] && m[2].toUpperCase() === "S") lat = -Math.abs(lat);
    if (m[4] && m[4].toUpperCase() === "W") lon = -Math.abs(lon);
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) throw new Error("coords.range");
    return { lon, lat, mgrs: await toMGRS(lon, lat) };
  }
  const compact = s.replace(/\s+/g, "").toUpperCase();
  if (!/^\d{1,2}[C-HJ-NP-X][A-HJ-NP-Z]{2}(\d{2}){0,5}$/.test(compact)) throw new Error("coords.invalid");
  const lib = await loadMGRS();
  if (!lib) throw new Error("coords.noMGRS");
  try {
    const [lon, lat] = lib.toPoint(compact);
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) throw new Error("bad");
    return { lon, lat, mgrs: spaced(compact) };
  } catch {
    throw new Error("coords.invalid");
  }
}

// toMGRS returns the 1 m MGRS reference of a point ("" if the converter is missing
// or the point is polar, where MGRS uses UPS instead).
export async function toMGRS(lon, lat) {
  const lib = await loadMGRS();
  if (!lib) return "";
  try {
    return spaced(lib.forward([lon, lat], 5));
  } catch {
    return "";
  }
}

// spaced writes "33UXP0500444996" as "33U XP 05004 44996", as it is read aloud.
export function spaced(ref) {
  const m = String(ref).replace(/\s+/g, "").match(/^(\d{1,2}[A-Z])([A-Z]{2})(\d*)$/);
  if (!m || m[3].length % 2) return ref;
  const half = m[3].length / 2;
  return [m[1], m[2], m[3].slice(0, half), m[3].slice(half)].filter(Boolean).join(" ");
}

export function formatLatLon(lon, lat, digits = 5) {
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(digits)}° ${ns}, ${Math.abs(lon).toFixed(digits)}° ${ew}`;
}
