// What the patrol planner, the risk view, the task board and the map's
// operations layer share: the live patrols and tasks from the stream's
// "operations" layer, the unit registry, the vocabularies of issue 5 and the
// rules of who may do what (mirrors of bluehelm.Patrol.Transition and
// Task.Transition, so that only buttons that can succeed are shown; the server
// checks again).

import { t, formatNumber } from "./i18n.js";
import { api } from "./api.js";
import { state, can, emit, username } from "./state.js";

export const PatrolTypes = ["foot", "mobile", "long_range", "river", "air", "joint_police", "joint_civilian"];
export const PatrolStatuses = ["draft", "submitted", "approved", "underway", "completed", "aborted"];
export const TaskStatuses = ["assigned", "en_route", "on_scene", "closed", "cancelled"];
export const OpenTaskStatuses = ["assigned", "en_route", "on_scene"];
export const RiskLevels = ["low", "moderate", "high", "severe"];
// The map and the badges colour a risk level the same way.
export const riskColours = { low: "#46a758", moderate: "#f5d90a", high: "#f76b15", severe: "#e5484d" };

// The live operations picture: active patrols (approved, underway) and open
// tasks as the stream last told; closed tasks of the day kept for the board.
export const ops = {
  patrols: new Map(), // id → Patrol (approved or underway)
  tasks: new Map(), // id → Task (any status seen since sign-in)
  units: null, // [Unit] once loaded
};

export function resetOps() {
  ops.patrols.clear();
  ops.tasks.clear();
  ops.units = null;
  state.map?.setOperations?.([], []);
  emit("ops");
}

export const activePatrol = (p) => p.status === "approved" || p.status === "underway";
export const openTask = (tk) => OpenTaskStatuses.includes(tk.status);

// applyOperations takes patrol and task messages from the stream (state, not
// deltas; a patrol that completes or a task that closes comes as one more message).
export function applyOperations(patrols, tasks) {
  const gonePatrols = [];
  for (const p of patrols) {
    const prev = ops.patrols.get(p.id);
    if (prev && prev.version > p.version) continue;
    if (activePatrol(p)) ops.patrols.set(p.id, p);
    else if (ops.patrols.delete(p.id)) gonePatrols.push(p.id);
  }
  for (const tk of tasks) {
    const prev = ops.tasks.get(tk.id);
    if (prev && prev.version > tk.version) continue;
    ops.tasks.set(tk.id, tk);
  }
  state.map?.upsertOperations?.(patrols, tasks);
  emit("ops", { patrols, tasks });
}

// snapshotOperations drops what a completed snapshot did not name: it ended (or
// became invisible to us) while we were not listening. Closed tasks stay: the
// snapshot never names them.
export function snapshotOperations(seen) {
  for (const id of [...ops.patrols.keys()]) if (!seen.patrols.has(id)) ops.patrols.delete(id);
  for (const [id, tk] of [...ops.tasks]) if (openTask(tk) && !seen.tasks.has(id)) ops.tasks.delete(id);
  state.map?.setOperations?.([...ops.patrols.values()], [...ops.tasks.values()].filter(openTask));
  emit("ops");
}

let unitsPromise = null;

// units loads the unit registry once per sign-in (a dozen to a few hundred rows).
export function loadUnits(force = false) {
  if (force || !unitsPromise) {
    unitsPromise = api("/api/v1/units")
      .then((r) => {
        ops.units = (r?.units || []).slice().sort((a, b) => a.code.localeCompare(b.code));
        return ops.units;
      })
      .catch((e) => {
        unitsPromise = null;
        throw e;
      });
  }
  return unitsPromise;
}

export function forgetUnits() {
  unitsPromise = null;
}

// --- who may do what -------------------------------------------------------------

// The server's /me lists what the user may do (and checks again on every write).
const canOp = can;

export const mayPlan = () => canOp("patrol.plan");
export const mayApprove = () => canOp("patrol.approve");
export const mayDispatch = () => canOp("task.dispatch");

export function mayEditPatrol(p) {
  if (p.status !== "draft" && p.status !== "submitted") return false;
  if (!mayPlan()) return false;
  return username() === p.planned_by || mayApprove();
}

// patrolActions lists the workflow steps the signed-in user may take on p.
export function patrolActions(p) {
  const me = username();
  const lead = mayApprove() || (mayPlan() && me === p.planned_by);
  const out = [];
  if (p.status === "draft" && mayEditPatrol(p)) out.push("submit");
  if (p.status === "submitted" && mayApprove() && me !== p.planned_by) out.push("approve");
  if (p.status === "submitted" && mayApprove()) out.push("reject");
  if (p.status === "approved" && lead) out.push("start");
  if (p.status === "underway" && lead) out.push("complete");
  if ((p.status === "approved" || p.status === "underway") && lead) out.push("abort");
  return out;
}

// taskActions lists the steps the signed-in user may take on a task: the unit
// reports leaving and arriving (field users post positions), the dispatcher
// closes and cancels.
export function taskActions(tk) {
  if (!openTask(tk)) return [];
  const field = can("position.post");
  const out = [];
  if (tk.status === "assigned" && (mayDispatch() || field)) out.push("en_route");
  if (tk.status !== "on_scene" && (mayDispatch() || field)) out.push("on_scene");
  if (mayDispatch()) out.push("close", "cancel");
  return out;
}

// --- labels ------------------------------------------------------------------------

export const patrolTypeLabel = (x) => t("patrol.type." + x, { fallback: x });
export const patrolStatusLabel = (x) => t("patrol.status." + x, { fallback: x });
export const taskStatusLabel = (x) => t("task.status." + x, { fallback: x });
export const riskLabel = (x) => t("risk.level." + x, { fallback: x || "" });

// minutes formats a duration in minutes as "1 h 05 min" / "42 min".
export function minutes(m) {
  if (!Number.isFinite(m) || m < 0) return t("risk.unreachable");
  const r = Math.round(m);
  if (r < 60) return t("unit.min", { n: r });
  return t("unit.hmin", { h: Math.floor(r / 60), m: String(r % 60).padStart(2, "0") });
}

export function seconds(s) {
  return Number.isFinite(s) && s > 0 ? minutes(s / 60) : "–";
}

export function km(meters) {
  if (!Number.isFinite(meters)) return "–";
  return meters < 1000 ? t("unit.m", { n: formatNumber(Math.round(meters)) }) : t("unit.km", { n: formatNumber(Math.round(meters / 100) / 10) });
}

// toLocalInput turns an instant into a datetime-local value (the user's clock).
export function toLocalInput(d) {
  d = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fromLocalInput(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function iso(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// weekStart is the Monday 00:00 (local) of the week holding d: missions plan by
// the ISO week.
export function weekStart(d = new Date()) {
  const x = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const dow = (x.getDay() + 6) % 7; // Monday 0
  x.setDate(x.getDate() - dow);
  return x;
}

export function addDays(d, n) {
  const x = new Date(d);
  x.setDate(x.getDate() + n);
  return x;
}

// isoWeek is "2026-W21" for the week holding d (ISO 8601).
export function isoWeek(d) {
  const x = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = x.getUTCDay() || 7;
  x.setUTCDate(x.getUTCDate() + 4 - day);
  const y = x.getUTCFullYear();
  const w = Math.ceil(((x - Date.UTC(y, 0, 1)) / 86400000 + 1) / 7);
  return `${y}-W${String(w).padStart(2, "0")}`;
}

export function parseISOWeek(s) {
  const m = /^(\d{4})-W(\d{2})$/.exec(s || "");
  if (!m) return null;
  const y = Number(m[1]), w = Number(m[2]);
  const jan4 = new Date(y, 0, 4);
  return addDays(weekStart(jan4), (w - 1) * 7);
}
