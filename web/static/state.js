// What the views share: who is signed in and what they may do, the taxonomy, the
// server's config, the live alerts and areas, the map, and the incident filters
// (one set for the list, the map and the dashboard, so that "what is shown" means
// the same thing everywhere, exports included).

import { t, tOr } from "./i18n.js";

export const Classifications = ["UNCLASSIFIED", "CONFIDENTIAL", "STRICTLY CONFIDENTIAL"];
export const Components = ["military", "police", "civilian", "support"];
export const Statuses = ["draft", "submitted", "verified", "approved", "rejected"];
// The incident model's casualty grid (bluehelm.CasualtyGroups × CasualtyKinds).
export const CasualtyGroups = ["civilians", "un_military", "un_police", "un_civilian", "host_forces", "armed_groups", "unknown"];
export const CasualtyKinds = ["killed", "injured", "abducted"];
export const ActorTypes = ["state_forces", "rebel_group", "political_militia", "communal_militia", "rioters", "protesters", "civilians", "external_forces", "un", "unknown"];
export const TargetTypes = ["civilians", "un_personnel", "un_premises", "security_forces", "armed_group", "aid_workers", "infrastructure", "unknown"];
export const TimePrecisions = ["exact", "day", "week", "month", "year"];
export const GeoPrecisions = ["exact", "near", "admin2", "admin1", "country"];

export const state = {
  me: null, // {user, csrf_token, expires_at, can}
  config: { basemap: null, stale_after_seconds: 600 },
  taxonomy: { categories: [], statuses: Statuses },
  map: null, // the MapView (or a stand-in when the map module is missing)
  mapShown: Promise.resolve(), // settles once the map's first picture is shown (or it never will be)
  alerts: new Map(), // id → Alert (open and acknowledged)
  areas: new Map(), // id → Area
  trackCount: 0,
  features: { stats: true, incidentsMap: true, preferences: true, places: true },
};

const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}

export function emit(event, data) {
  for (const fn of listeners.get(event) || []) {
    try {
      fn(data);
    } catch (e) {
      console.error("handler for", event, e);
    }
  }
}

export function can(action) {
  return !!state.me?.can?.includes(action);
}

export function username() {
  return state.me?.user?.username || "";
}

// clearanceLevels lists the classifications the user may mark a report with.
export function clearanceLevels() {
  const c = Classifications.indexOf(state.me?.user?.clearance || "UNCLASSIFIED");
  return Classifications.slice(0, Math.max(0, c) + 1);
}

// --- filters -------------------------------------------------------------------

// filters: {category: [], status: [], from: Date|null, to: Date|null, q: "",
//           area: [[lon,lat], …]|null (a drawn or chosen area, open ring), areaLabel: ""}
export const filters = { category: [], status: [], from: null, to: null, q: "", area: null, areaLabel: "" };

// maxAreaCorners is the server's limit on a searched area (bluehelm.MaxRingCorners).
const maxAreaCorners = 500;

// areaRing turns what a person drew or chose into the ring the API takes: an open
// ring of at least three corners, thinned to the server's limit (a hand-drawn
// outline loses nothing a search needs by keeping every k-th corner). A
// [w,s,e,n] box becomes its rectangle.
export function areaRing(a) {
  if (!a) return null;
  let ring = a;
  if (a.length === 4 && a.every((x) => typeof x === "number")) {
    const [w, s, e, n] = a;
    ring = [[w, s], [e, s], [e, n], [w, n]];
  }
  ring = ring.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1]) ring = ring.slice(0, -1);
  if (ring.length > maxAreaCorners) {
    const k = Math.ceil(ring.length / maxAreaCorners);
    ring = ring.filter((_, i) => i % k === 0);
  }
  return ring.length >= 3 ? ring : null;
}

// inRing reports whether (lon, lat) is inside ring (crossing number; the server
// also counts the edge as inside, which a live update on the edge may differ on
// until the next reload — harmless).
export function inRing(lon, lat, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function setFilters(patch) {
  Object.assign(filters, patch);
  emit("filters", filters);
}

export function clearFilters() {
  setFilters({ category: [], status: [], from: null, to: null, q: "", area: null, areaLabel: "" });
}

// filterParams is the API's query for the current filters (see http/incidents.go
// incidentFilter: from, to, within, category, status, q).
export function filterParams(f = filters) {
  const round = (x) => Math.round(x * 1e5) / 1e5;
  return {
    from: f.from ? f.from.toISOString().replace(/\.\d{3}Z$/, "Z") : "",
    to: f.to ? f.to.toISOString().replace(/\.\d{3}Z$/, "Z") : "",
    within: f.area ? f.area.flat().map(round).join(",") : "",
    category: f.category,
    status: f.status,
    q: f.q.trim(),
  };
}

export function filtersActive(f = filters) {
  return f.category.length > 0 || f.status.length > 0 || !!f.from || !!f.to || !!f.q.trim() || !!f.area;
}

// matchesFilters decides on the client whether a live incident belongs in the
// filtered list; the text match is rougher than the server's full-text search.
export function matchesFilters(inc, f = filters) {
  if (f.category.length && !f.category.includes(inc.category)) return false;
  if (f.status.length && !f.status.includes(inc.status)) return false;
  const at = Date.parse(inc.occurred_start);
  if (f.from && at < f.from.getTime()) return false;
  if (f.to && at >= f.to.getTime()) return false;
  if (f.area) {
    const [lon, lat] = inc.location?.coordinates || [NaN, NaN];
    if (!inRing(lon, lat, f.area)) return false;
  }
  const q = f.q.trim().toLowerCase();
  if (q) {
    const hay = [inc.title, inc.narrative, inc.place_name, inc.admin1, inc.admin2, ...(inc.actors || []).map((a) => a.name)].join(" ").toLowerCase();
    if (!q.split(/\s+/).every((w) => hay.includes(w))) return false;
  }
  return true;
}

// --- labels ----------------------------------------------------------------------

export function categoryInfo(code) {
  return state.taxonomy.categories.find((c) => c.code === code);
}

export function categoryLabel(code) {
  return tOr("cat." + code, categoryInfo(code)?.label || code || "");
}

export function subcategoryLabel(cat, sub) {
  if (!sub) return "";
  return tOr(`sub.${cat}.${sub}`, categoryInfo(cat)?.subcategories?.[sub] || sub);
}

export function statusLabel(s) {
  return t("status." + s, { fallback: s });
}

export function classificationLabel(c) {
  return t("class." + String(c || "UNCLASSIFIED").replace(/ /g, "_"), { fallback: c });
}

export function componentLabel(c) {
  return t("component." + c, { fallback: c });
}

export function roleLabel(r) {
  return t("role." + r, { fallback: r });
}

// The order in which categories are coloured, shared with charts and the list. It
// follows the taxonomy's display order, so a colour means the same on every page.
const palette = ["#e5484d", "#f76b15", "#ffc53d", "#ab4aba", "#d6409f", "#a18072", "#3e63dd", "#12a594", "#f5d90a", "#8e4ec6", "#0090ff", "#46a758", "#7ce2fe", "#978365", "#29a383", "#8b8d98"];

let colourOverrides = {};

export function setCategoryColours(map) {
  colourOverrides = { ...(map || {}) };
  emit("palette");
}

export function categoryColour(code) {
  if (colourOverrides[code]) return colourOverrides[code];
  const i = state.taxonomy.categories.findIndex((c) => c.code === code);
  return i >= 0 ? palette[i % palette.length] : "#8b8d98";
}
