// bluehelm status page: sign in, then follow the live picture over the stream.
// The full map client replaces the plot; the protocol it uses is the same.
import { t, setLang, translatePage } from "./i18n.js";

const $ = (s) => document.querySelector(s);
const state = { csrf: "", tracks: new Map(), areas: new Map(), alerts: new Map(), incidents: new Map(), ws: null };

async function api(path, opts = {}) {
  const headers = { Accept: "application/json", ...(opts.headers || {}) };
  if (opts.body) headers["Content-Type"] = "application/json";
  if (state.csrf && opts.method && opts.method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  const r = await fetch(path, { credentials: "same-origin", ...opts, headers });
  const body = r.headers.get("Content-Type")?.includes("json") ? await r.json() : null;
  if (!r.ok) throw Object.assign(new Error(body?.detail || r.statusText), { status: r.status, body });
  return body;
}

function show(view) {
  $("#login-view").hidden = view !== "login";
  $("#app-view").hidden = view !== "app";
  $("#logout").hidden = view !== "app";
}

$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $("#login-error").textContent = "";
  try {
    const r = await api("/api/v1/login", { method: "POST", body: JSON.stringify({ username: f.get("username"), password: f.get("password") }) });
    state.csrf = r.csrf_token;
    start(r.user);
  } catch (e) {
    $("#login-error").textContent = e.status === 429 ? t("login.tooMany") : t("login.failed");
  }
});

$("#logout").addEventListener("click", async () => {
  try { await api("/api/v1/logout", { method: "POST" }); } catch { /* signed out anyway */ }
  state.ws?.close();
  show("login");
});

$("#lang").addEventListener("change", (ev) => { setLang(ev.target.value); render(); });

function start(user) {
  $("#who").textContent = `${user.name || user.username} · ${user.role} · ${user.component}`;
  show("app");
  connect();
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/stream`);
  state.ws = ws;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "subscribe", bbox: [-180, -90, 180, 90], layers: ["tracks", "incidents", "alerts", "areas"] }));
    $("#status").textContent = t("status.live");
    $("#status").className = "live";
  };
  ws.onmessage = (ev) => handle(JSON.parse(ev.data));
  ws.onclose = () => {
    $("#status").textContent = t("status.offline");
    $("#status").className = "";
    if (!$("#app-view").hidden) setTimeout(connect, 3000); // bad links drop; keep trying
  };
}

let dirty = false;
function handle(m) {
  switch (m.type) {
    case "snapshot.begin": state.tracks.clear(); state.alerts.clear(); state.areas.clear(); state.incidents.clear(); break;
    case "position": state.tracks.set(m.data.uid, m.data); break;
    case "incident": state.incidents.set(m.data.id, m.data); break;
    case "alert": state.alerts.set(m.data.id, m.data); break;
    case "area": state.areas.set(m.data.id, m.data); break;
    case "area.deleted": state.areas.delete(m.data.id); break;
  }
  if (!dirty) { dirty = true; requestAnimationFrame(() => { dirty = false; render(); }); }
}

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const colour = { military: "#4b92db", police: "#46a758", civilian: "#f5a524", support: "#a48fff" };

function render() {
  translatePage();
  $("#track-count").textContent = state.tracks.size;
  const alerts = [...state.alerts.values()].filter((a) => a.state !== "resolved").sort((a, b) => b.raised_at.localeCompare(a.raised_at));
  $("#alerts").innerHTML = alerts.map((a) => `<li class="${esc(a.severity)}"><strong>${esc(a.title)}</strong><br><small>${esc(new Date(a.raised_at).toLocaleString())} · ${esc(t("alert." + a.state))}</small></li>`).join("") || `<li>${esc(t("alerts.none"))}</li>`;
  const incs = [...state.incidents.values()].sort((a, b) => b.occurred_start.localeCompare(a.occurred_start)).slice(0, 100);
  $("#incidents").innerHTML = incs.map((i) => `<tr><td>${esc(new Date(i.occurred_start).toLocaleString())}</td><td>${esc(i.title)}</td><td>${esc(i.place_name || i.admin1 || "")}</td><td>${esc(t("status." + i.status))}</td><td><span class="marking">${esc(i.classification)}</span></td></tr>`).join("");
  plot();
}

// plot draws areas and tracks in an equirectangular frame fitted to the data.
function plot() {
  const pts = [...state.tracks.values()].map((s) => [s.position.lon, s.position.lat]);
  const rings = [...state.areas.values()].flatMap((a) => a.geometry.type === "Polygon" ? [a.geometry.coordinates[0]] : a.geometry.type === "LineString" ? [a.geometry.coordinates] : []);
  const all = pts.concat(rings.flat());
  if (!all.length) { $("#plot").innerHTML = ""; return; }
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of all) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const pad = 0.3, w = 1000, h = 750;
  x0 -= pad; x1 += pad; y0 -= pad; y1 += pad;
  const k = Math.min(w / (x1 - x0), h / (y1 - y0));
  const px = ([x, y]) => `${((x - x0) * k).toFixed(1)},${(h - (y - y0) * k).toFixed(1)}`;
  const areaSvg = [...state.areas.values()].map((a) => {
    const c = a.geometry.type === "Polygon" ? a.geometry.coordinates[0] : a.geometry.type === "LineString" ? a.geometry.coordinates : null;
    if (!c) return "";
    const stroke = a.kind === "restricted" ? "#e5484d" : "#4b92db";
    return `<polyline points="${c.map(px).join(" ")}" fill="${a.kind === "restricted" ? "rgba(229,72,77,.2)" : "none"}" stroke="${stroke}" stroke-width="1"><title>${esc(a.name)}</title></polyline>`;
  }).join("");
  const trackSvg = [...state.tracks.values()].map((s) => {
    const [cx, cy] = px([s.position.lon, s.position.lat]).split(",");
    return `<circle cx="${cx}" cy="${cy}" r="5" fill="${colour[s.component] || "#ccc"}"><title>${esc(s.callsign || s.uid)}</title></circle>`;
  }).join("");
  $("#plot").innerHTML = areaSvg + trackSvg;
}

(async () => {
  translatePage();
  try {
    const me = await api("/api/v1/me");
    state.csrf = me.csrf_token || "";
    start(me.user || me);
  } catch {
    show("login");
  }
})();
