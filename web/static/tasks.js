// Incident response: the task board (open tasks in columns assigned / en route /
// on scene, the day's closed ones below) kept live by the stream's operations
// layer, its actions for those allowed, and the dispatch dialog opened from an
// incident or an alert: the units ranked by estimated time of arrival (free ones
// first), one chosen and sent.

import { t, formatTime, formatDateTime, formatNumber, onLangChange } from "./i18n.js";
import { api, query, describe } from "./api.js";
import { $, h, replace, announce, toast } from "./dom.js";
import { on } from "./state.js";
import { openDialog, askText } from "./dialogs.js";
import { ops, applyOperations, taskActions, taskStatusLabel, mayDispatch, OpenTaskStatuses, openTask, seconds, km } from "./ops.js";
import { estimateTag } from "./risk.js";

let visible = false;
let closedLoaded = false;
let gen = 0;

export function initTasks() {
  on("ops", () => visible && renderBoard());
  onLangChange(() => visible && renderBoard());
  on("me", () => visible && renderBoard());
  // The incident detail panel offers "Dispatch" to those who may.
  on("incident-detail", (inc) => addDispatchButton(inc));
}

export function resetTasks() {
  visible = false;
  closedLoaded = false;
  replace($("#tasks-body"));
}

export function showTasks(on) {
  visible = on;
  if (!on) return;
  renderBoard();
  load();
}

function startOfToday() {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

// load asks for the open tasks (the stream has them too, but the board must not
// wait for it) and the day's closed ones (the stream's snapshot leaves them out).
async function load() {
  const g = ++gen;
  try {
    const since = startOfToday().toISOString().replace(/\.\d{3}Z$/, "Z");
    const [open, closed] = await Promise.all([
      api("/api/v1/tasks" + query({ status: OpenTaskStatuses, limit: 1000 })),
      api("/api/v1/tasks" + query({ status: ["closed", "cancelled"], since, limit: 500 })),
    ]);
    if (g !== gen) return;
    closedLoaded = true;
    applyOperations([], [...(open?.tasks || []), ...(closed?.tasks || [])]);
  } catch (e) {
    if (g !== gen) return;
    const s = $("#task-board-status");
    if (s) {
      s.textContent = describe(e);
      s.classList.add("error");
    }
  }
}

function renderBoard() {
  const body = $("#tasks-body");
  if (!body) return;
  const all = [...ops.tasks.values()];
  const today = startOfToday().getTime();
  const cols = OpenTaskStatuses.map((st) => ({
    st,
    items: all.filter((tk) => tk.status === st).sort((a, b) => Date.parse(a.assigned_at) - Date.parse(b.assigned_at) || a.id - b.id),
  }));
  const closed = all
    .filter((tk) => !openTask(tk) && Date.parse(tk.closed_at || tk.updated_at) >= today)
    .sort((a, b) => Date.parse(b.closed_at || b.updated_at) - Date.parse(a.closed_at || a.updated_at));
  // Keep focus on the same task's button across live re-renders.
  const active = document.activeElement;
  const focusKey = active && body.contains(active) ? [active.closest("[data-task]")?.dataset.task, active.dataset.action] : null;
  const open = cols.reduce((n, c) => n + c.items.length, 0);
  replace(
    body,
    h("div", { class: "section-head" }, h("h2", { id: "tasks-heading" }, t("task.boardTitle")), h("span", { class: "badge" }, formatNumber(open))),
    h("p", { class: "muted small" }, mayDispatch() ? t("task.boardHintDispatch") : t("task.boardHint")),
    h("p", { id: "task-board-status", class: "muted", "aria-live": "polite" }, open ? "" : t("task.noneOpen")),
    h("div", { class: "task-board" },
      cols.map(({ st, items }) =>
        h("section", { class: `task-col col-${st}`, "aria-labelledby": `task-col-${st}` },
          h("h3", { id: `task-col-${st}` }, taskStatusLabel(st), " ", h("span", { class: "muted small" }, "(" + formatNumber(items.length) + ")")),
          items.length ? h("ul", { class: "task-list", id: `tasks-${st}` }, items.map(taskCard)) : h("p", { class: "muted small empty" }, t("task.noneInColumn"))))),
    h("section", { class: "task-closed", "aria-labelledby": "task-closed-title" },
      h("h3", { id: "task-closed-title" }, t("task.closedToday"), " ", h("span", { class: "muted small" }, "(" + formatNumber(closed.length) + ")")),
      closed.length ? h("ul", { class: "task-list", id: "tasks-closed" }, closed.map(taskCard)) : h("p", { class: "muted small empty" }, closedLoaded ? t("task.noneClosed") : t("common.loading"))),
  );
  if (focusKey?.[0]) {
    const el = body.querySelector(`[data-task="${focusKey[0]}"] [data-action="${focusKey[1]}"]`) || body.querySelector(`[data-task="${focusKey[0]}"] button`);
    el?.focus();
  }
}

function taskCard(tk) {
  const acts = taskActions(tk);
  const times = [
    [t("task.assignedAt"), tk.assigned_at],
    [t("task.enRouteAt"), tk.en_route_at],
    [t("task.onSceneAt"), tk.on_scene_at],
    [t(tk.status === "cancelled" ? "task.cancelledAt" : "task.closedAt"), tk.closed_at],
  ].filter(([, v]) => v);
  const source = tk.incident_id ? h("a", { href: `#/incidents/${tk.incident_id}` }, t("task.incidentNo", { id: tk.incident_id })) : tk.alert_id ? h("span", {}, t("task.alertNo", { id: tk.alert_id })) : null;
  return h(
    "li",
    { class: `task-card tstatus-${tk.status}`, dataset: { task: tk.id, status: tk.status } },
    h("div", { class: "task-head" }, h("strong", { class: "task-unit" }, tk.unit), " ", h("span", { class: `status tstatus-${tk.status}` }, taskStatusLabel(tk.status))),
    h("p", { class: "task-title" }, tk.title),
    h("p", { class: "small" },
      tk.eta_seconds ? [t("task.eta", { eta: seconds(tk.eta_seconds) }), tk.eta_estimated ? [" ", estimateTag()] : null, tk.distance_meters ? " · " + km(tk.distance_meters) : ""] : h("span", { class: "muted" }, t("task.noEta")),
      source ? [" · ", source] : null),
    h("p", { class: "small muted task-times" }, times.map(([k, v], i) => [i ? " · " : "", `${k} ${formatTime(v)}`])),
    tk.note ? h("p", { class: "small" }, tk.note) : null,
    tk.close_note ? h("p", { class: "small muted" }, tk.close_note) : null,
    acts.length
      ? h("div", { class: "actions" }, acts.map((a) => h("button", { type: "button", class: a === "cancel" ? "danger" : a === "close" ? "secondary" : "primary", dataset: { action: a }, onclick: (ev) => taskAction(ev.currentTarget, tk, a) }, t("task.action." + a))))
      : null,
  );
}

async function taskAction(btn, tk, action) {
  let note = "";
  if (action === "cancel" || action === "close") {
    note = await askText({ title: t(`task.${action}Title`, { unit: tk.unit, title: tk.title }), label: t(action === "cancel" ? "task.cancelReason" : "task.closeNote"), ok: t("task.action." + action), required: action === "cancel", danger: action === "cancel" });
    if (note === null) return;
  }
  btn.disabled = true;
  try {
    const next = await api(`/api/v1/tasks/${tk.id}/actions/${action}`, { method: "POST", body: note ? { note } : {}, ifMatch: tk.version });
    applyOperations([], [next]);
    announce(t("task.done", { unit: next.unit, status: taskStatusLabel(next.status) }));
  } catch (e) {
    toast(describe(e, t("task.forbid")), "error");
    if (e.kind === "stale" || e.kind === "conflict") {
      try {
        applyOperations([], [await api(`/api/v1/tasks/${tk.id}`)]);
      } catch {
        /* the stream will catch up */
      }
    }
  } finally {
    if (btn.isConnected) btn.disabled = false;
  }
}

// --- dispatch ---------------------------------------------------------------------------

function addDispatchButton(inc) {
  if (!mayDispatch() || !inc?.location) return;
  const bar = $("#incident-detail .detail-actions");
  if (!bar || bar.querySelector("#dispatch-incident")) return;
  bar.append(h("button", { type: "button", id: "dispatch-incident", class: "secondary", onclick: () => openDispatch({ incident: inc }) }, t("task.dispatch")));
}

// openDispatch shows the ranked responders for an incident ({incident}) or an
// alert ({alert}) and sends the chosen unit.
export async function openDispatch({ incident, alert }) {
  const param = incident ? { incident_id: incident.id } : { alert_id: alert.id };
  const title = incident ? incident.title : alert.title;
  let ranked;
  try {
    ranked = await api("/api/v1/responders" + query(param));
  } catch (e) {
    toast(describe(e, t("task.forbidDispatch")), "error");
    return null;
  }
  const list = ranked?.responders || [];
  return openDialog(
    (close) => {
      const err = h("p", { class: "error", id: "dispatch-error", role: "alert" });
      const note = h("textarea", { name: "note", rows: 2, maxlength: 2000 });
      const rows = list.map((r, i) => {
        const u = r.unit;
        const id = `resp-${i}`;
        return h("li", { class: `responder${r.busy ? " busy" : ""}`, dataset: { unit: u.code } },
          h("input", { type: "radio", name: "unit", id, value: u.code, checked: i === 0 && !r.busy, disabled: u.disabled }),
          h("label", { for: id },
            h("span", { class: "resp-main" }, h("strong", {}, u.code), " ", h("span", { class: "muted small" }, u.name || "")),
            h("span", { class: "resp-side small" },
              h("span", { class: r.busy ? "bad-tag" : "ok-tag" }, r.busy ? t("task.busy") : t("task.free")),
              " ",
              r.has_eta
                ? [h("span", { class: "resp-eta" }, t("task.eta", { eta: seconds(r.eta_seconds) })), r.eta_estimated ? [" ", estimateTag()] : null, " · ", km(r.distance_meters)]
                : h("span", { class: "muted" }, t("task.noPosition")),
              r.position_at ? h("span", { class: "muted" }, " · " + t("task.positionAt", { at: formatDateTime(r.position_at) })) : null)));
      });
      const form = h(
        "form",
        {
          id: "dispatch-form",
          novalidate: true,
          onsubmit: async (ev) => {
            ev.preventDefault();
            const unit = form.querySelector("input[name=unit]:checked")?.value;
            if (!unit) {
              err.textContent = t("task.chooseUnit");
              return;
            }
            const btn = form.querySelector("button[type=submit]");
            btn.disabled = true;
            err.textContent = "";
            try {
              const body = { ...param, unit };
              if (note.value.trim()) body.note = note.value.trim();
              const tk = await api("/api/v1/tasks", { method: "POST", body });
              applyOperations([], [tk]);
              const msg = t("task.dispatched", { unit: tk.unit, title: tk.title });
              toast(msg);
              announce(msg);
              close(tk);
            } catch (e) {
              err.textContent = describe(e, t("task.forbidDispatch"));
              btn.disabled = false;
            }
          },
        },
        h("h2", {}, t("task.dispatchTitle", { title })),
        h("p", { class: "muted small" }, t("task.rankHint"), " ", estimateTag()),
        list.length ? h("ul", { class: "responders", role: "radiogroup", "aria-label": t("task.responders") }, rows) : h("p", { class: "muted" }, t("task.noUnits")),
        h("label", { class: "field" }, h("span", {}, t("task.note")), note),
        err,
        h("div", { class: "actions end" },
          h("button", { type: "button", class: "secondary", onclick: () => close(null) }, t("common.cancel")),
          h("button", { type: "submit", class: "primary", id: "dispatch-send", disabled: !list.length }, t("task.send"))),
      );
      return form;
    },
    { label: t("task.dispatchTitle", { title }), className: "wide" },
  );
}
