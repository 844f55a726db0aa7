// Community alerts (#/community): the queue of messages from the community alert
// network (SMS, the public web form, the hotline), newest first, duplicates grouped;
// the keyword hints (English, French, Arabic) and the suggested place (click: the map
// goes there); triage for those allowed (triage, link to a new draft or an existing
// incident, dismiss); the hotline entry form; and, for the community liaison only, the
// sender's number behind an audited "reveal". Message text is user input in any
// language and script: it is always set as text (textContent), in an element with
// dir="auto" so that Arabic reads right to left inside a left-to-right page.

import { t, formatDateTime, formatAgo, onLangChange } from "./i18n.js";
import { api, query, describe } from "./api.js";
import { $, h, replace, announce, toast } from "./dom.js";
import { state, on, can, categoryLabel } from "./state.js";
import { askText, confirmDialog } from "./dialogs.js";

let visible = false;
let alerts = [];
let filter = "open";
let gen = 0;
let timer = null;
let status = "";
const revealed = new Map(); // alert id → number, for this page view only

const refreshEvery = 15000;

export function initCommunity() {
  onLangChange(() => visible && render());
  on("me", () => {
    const nav = $("#nav-community");
    if (nav) nav.hidden = !can("community.triage");
    if (visible) render();
  });
}

export function resetCommunity() {
  visible = false;
  alerts = [];
  revealed.clear();
  clearInterval(timer);
  timer = null;
  replace($("#community-body"));
}

export function showCommunity(show) {
  visible = show;
  clearInterval(timer);
  timer = null;
  if (!show) {
    revealed.clear(); // a number is shown once, not kept on screen
    return;
  }
  render();
  load();
  timer = setInterval(() => visible && !document.hidden && load(), refreshEvery);
}

async function load() {
  const g = ++gen;
  try {
    const states = filter === "open" ? ["new", "triaged"] : [];
    const res = await api("/api/v1/community/alerts" + query({ state: states, limit: 500 }));
    if (g !== gen) return;
    alerts = res?.alerts || [];
    status = alerts.length ? "" : t("community.empty");
  } catch (e) {
    if (g !== gen) return;
    status = describe(e);
  }
  if (visible) render();
}

// groups returns the alerts by group, the group with the newest message first.
function groups() {
  const byGroup = new Map();
  for (const a of alerts) {
    if (!byGroup.has(a.group_id)) byGroup.set(a.group_id, []);
    byGroup.get(a.group_id).push(a);
  }
  const out = [...byGroup.values()];
  for (const g of out) g.sort((a, b) => Date.parse(b.received_at) - Date.parse(a.received_at) || b.id - a.id);
  out.sort((a, b) => Date.parse(b[0].received_at) - Date.parse(a[0].received_at) || b[0].id - a[0].id);
  return out;
}

function render() {
  const body = $("#community-body");
  if (!body) return;
  const focused = document.activeElement?.closest?.("[data-alert]")?.dataset.alert;
  const list = h(
    "div",
    { id: "community-list", class: "community-list" },
    groups().map((g) => renderGroup(g)),
  );
  replace(
    body,
    h("h2", { id: "community-heading" }, t("community.title")),
    can("community.triage") ? hotlineForm() : null,
    h(
      "label",
      { class: "field inline" },
      h("span", {}, t("community.filter")),
      h(
        "select",
        {
          id: "community-filter",
          onchange: (ev) => {
            filter = ev.target.value;
            load();
          },
        },
        h("option", { value: "open", selected: filter === "open" }, t("community.filterOpen")),
        h("option", { value: "all", selected: filter === "all" }, t("community.filterAll")),
      ),
    ),
    h("p", { id: "community-status", class: "muted empty", role: "status" }, status),
    list,
  );
  if (focused) body.querySelector(`[data-alert="${CSS.escape(focused)}"] button`)?.focus();
}

function renderGroup(g) {
  return h(
    "section",
    { class: "community-group" + (g.length > 1 ? " grouped" : ""), "aria-label": t("community.groupLabel", { count: g.length }) },
    g.length > 1 ? h("p", { class: "community-group-head" }, t("community.group", { count: g.length })) : null,
    g.map((a, i) => renderAlert(a, i === 0 ? g : null)),
  );
}

function channelLabel(c) {
  return t("community.channel." + c);
}

function stateLabel(s) {
  return t("community.state." + s);
}

function langLabel(l) {
  return l ? t("community.lang." + l) : t("community.lang.unknown");
}

function renderAlert(a, group) {
  const when = new Date(a.received_at);
  const meta = h(
    "p",
    { class: "community-meta muted" },
    h("span", { class: "badge cstate-" + a.state }, stateLabel(a.state)),
    " ",
    channelLabel(a.channel),
    " · ",
    h("time", { datetime: a.received_at, title: formatDateTime(when) }, formatAgo(when)),
    " · ",
    langLabel(a.language),
    " · #" + a.id,
  );
  const text = h("p", { class: "community-text", dir: "auto", lang: a.language || null, text: a.text });
  const hints = a.hints?.length
    ? h(
        "ul",
        { class: "community-hints", "aria-label": t("community.hints") },
        a.hints.map((k) =>
          h(
            "li",
            { class: "chip" },
            h("span", { dir: "auto", lang: k.lang, class: "community-keyword", text: k.keyword }),
            " → ",
            categoryLabel(k.category),
          ),
        ),
      )
    : null;
  const place = a.place
    ? h(
        "p",
        { class: "community-place" },
        h(
          "button",
          {
            type: "button",
            class: "link",
            "aria-label": t("community.placeShow", { name: a.place.name }),
            onclick: () => {
              const [lon, lat] = coords(a.place.location);
              state.map?.flyTo?.({ lon, lat, zoom: 11 });
              announce(t("community.placeShow", { name: a.place.name }));
            },
          },
          // No pin emoji: a team-site laptop may have no emoji font, and a box
          // in its place reads as a fault.
          t("community.place", { name: a.place.name }),
        ),
        a.place.matched && a.place.matched.toLowerCase() !== a.place.name.toLowerCase()
          ? h("span", { class: "muted" }, " (", h("bdi", { text: a.place.matched }), ")")
          : null,
      )
    : null;
  const done = [];
  if (a.state_by) done.push(t("community.by", { state: stateLabel(a.state), user: a.state_by, time: formatDateTime(new Date(a.state_at)) }));
  if (a.entered_by) done.push(t("community.entered", { user: a.entered_by }));
  const history = done.length ? h("p", { class: "muted small" }, done.join(" · ")) : null;
  const note = a.note ? h("p", { class: "community-note" }, t("community.note") + ": ", h("bdi", { text: a.note })) : null;
  const linked = a.incident_id
    ? h("p", {}, h("a", { href: `#/incidents/${a.incident_id}` }, t("community.openIncident", { id: a.incident_id })))
    : null;
  return h(
    "article",
    { class: "community-alert card cstate-" + a.state, dataset: { alert: String(a.id) } },
    meta,
    text,
    hints,
    place,
    history,
    note,
    linked,
    senderRow(a),
    actions(a, group),
  );
}

// coords reads a GeoJSON point.
function coords(loc) {
  return loc?.coordinates || [0, 0];
}

function senderRow(a) {
  if (!can("community.sender")) return null;
  if (!a.has_sender) return h("p", { class: "muted small" }, t("community.noSender"));
  const n = revealed.get(a.id);
  return h(
    "p",
    { class: "community-sender actions" },
    n
      ? h("span", { class: "sender-number" }, t("community.sender") + ": ", h("bdi", { dir: "ltr", text: n }))
      : h("button", { type: "button", class: "secondary act-reveal", onclick: () => reveal(a) }, t("community.revealSender")),
    h("button", { type: "button", class: "secondary act-reply", onclick: () => reply(a) }, t("community.reply")),
  );
}

function actions(a, group) {
  if (!can("community.triage") || (a.state !== "new" && a.state !== "triaged")) return null;
  const others = group ? group.filter((m) => m.id !== a.id && (m.state === "new" || m.state === "triaged")).length : 0;
  const whole = others
    ? h("label", { class: "inline" }, h("input", { type: "checkbox", class: "community-whole", checked: true }), " ", t("community.wholeGroup", { count: others + 1 }))
    : null;
  const isWhole = (ev) => !!ev.target.closest("article")?.querySelector(".community-whole")?.checked;
  return h(
    "div",
    { class: "actions community-actions" },
    a.state === "new"
      ? h("button", { type: "button", class: "secondary act-triage", onclick: (ev) => act(a, "triage", { group: isWhole(ev) }, t("community.triaged")) }, t("community.triage"))
      : null,
    can("incident.report")
      ? h("button", { type: "button", class: "primary act-link-new", onclick: (ev) => linkNew(a, isWhole(ev)) }, t("community.linkNew"))
      : null,
    h("button", { type: "button", class: "secondary act-link", onclick: (ev) => linkExisting(a, isWhole(ev)) }, t("community.linkExisting")),
    h("button", { type: "button", class: "secondary danger act-dismiss", onclick: (ev) => dismiss(a, isWhole(ev)) }, t("community.dismiss")),
    whole,
  );
}

async function act(a, action, body, done) {
  try {
    const res = await api(`/api/v1/community/alerts/${a.id}/actions/${action}`, {
      method: "POST",
      body,
      ifMatch: a.version,
    });
    toast(done, "ok");
    announce(done);
    await load();
    return res;
  } catch (e) {
    toast(describe(e), "error");
    await load();
    return null;
  }
}

async function linkNew(a, group) {
  const ok = await confirmDialog({ title: t("community.linkNew"), text: t("community.confirmNew"), ok: t("community.linkNew") });
  if (!ok) return;
  const res = await act(a, "link", { create_incident: true, group }, t("community.linkedNew"));
  if (res?.incident?.id) toast(t("community.linked", { id: res.incident.id }), "ok");
}

async function linkExisting(a, group) {
  const v = await askText({ title: t("community.linkExisting"), label: t("community.incidentLabel"), ok: t("community.link"), maxLength: 12 });
  if (v === null) return;
  const id = Number(String(v).replace(/^#/, ""));
  if (!Number.isInteger(id) || id <= 0) {
    toast(t("community.badIncident"), "error");
    return;
  }
  await act(a, "link", { incident_id: id, group }, t("community.linked", { id }));
}

async function dismiss(a, group) {
  const note = await askText({ title: t("community.dismiss"), label: t("community.noteOptional"), ok: t("community.dismiss"), required: false, danger: true });
  if (note === null) return;
  await act(a, "dismiss", { note, group }, t("community.dismissedDone"));
}

async function reveal(a) {
  const reason = await askText({ title: t("community.revealSender"), label: t("community.revealReason"), ok: t("community.revealSender"), maxLength: 500, hint: t("community.revealHint") });
  if (reason === null) return;
  try {
    const res = await api(`/api/v1/community/alerts/${a.id}/sender`, { method: "POST", body: { reason } });
    revealed.set(a.id, res.number);
    render();
  } catch (e) {
    toast(describe(e), "error");
  }
}

async function reply(a) {
  const text = await askText({ title: t("community.reply"), label: t("community.replyText"), ok: t("community.replySend"), maxLength: 1600 });
  if (text === null) return;
  try {
    await api(`/api/v1/community/alerts/${a.id}/reply`, { method: "POST", body: { text } });
    toast(t("community.replied"), "ok");
  } catch (e) {
    toast(describe(e), "error");
  }
}

function hotlineForm() {
  const text = h("textarea", { id: "hotline-text", name: "text", rows: 3, maxlength: 1600, dir: "auto", required: true, "aria-describedby": "hotline-error" });
  const from = h("input", { id: "hotline-from", name: "from", type: "tel", dir: "ltr", autocomplete: "off", inputmode: "tel" });
  const err = h("p", { id: "hotline-error", class: "error", role: "alert" });
  return h(
    "details",
    { class: "community-hotline" },
    h("summary", {}, t("community.hotline")),
    h(
      "form",
      {
        id: "hotline-form",
        novalidate: true,
        onsubmit: async (ev) => {
          ev.preventDefault();
          err.textContent = "";
          if (!text.value.trim()) {
            err.textContent = t("field.required");
            text.setAttribute("aria-invalid", "true");
            text.focus();
            return;
          }
          try {
            await api("/api/v1/community/alerts", { method: "POST", body: { text: text.value, from: from.value.trim() } });
            text.value = "";
            from.value = "";
            toast(t("community.added"), "ok");
            announce(t("community.added"));
            await load();
          } catch (e) {
            err.textContent = describe(e);
          }
        },
      },
      h("label", { class: "field" }, h("span", {}, t("community.hotlineText")), text),
      h("label", { class: "field" }, h("span", {}, t("community.hotlineFrom")), from),
      err,
      h("div", { class: "actions end" }, h("button", { type: "submit", class: "primary" }, t("community.hotlineAdd"))),
    ),
  );
}
