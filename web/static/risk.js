// The risk view of a route (a patrol's, or one being planned): the overall level,
// the reasons in the reader's language (by code, with their numbers; the server's
// English sentence when the code is new to this page), the 10-1-2 medical reach
// and the stretches, as a table for those who cannot tell the map's colours
// apart. Road times without a road network are estimates, and the view says so
// every time it shows them: a "meets 10-1-2" is never shown bare.

import { t, formatNumber, formatDateTime } from "./i18n.js";
import { api } from "./api.js";
import { h } from "./dom.js";
import { state } from "./state.js";
import { riskLabel, minutes } from "./ops.js";

const titles = new Map(); // incident id → title (or "" while asked)

// riskBadge is the coloured level tag shown in lists and in the view.
export function riskBadge(level, extra = "") {
  if (!level) return null;
  return h("span", { class: `risk-badge risk-${level} ${extra}`.trim(), title: t("risk.levelTitle", { level: riskLabel(level) }) }, riskLabel(level));
}

// estimateTag marks a figure as an estimate.
export function estimateTag() {
  return h("span", { class: "estimate-tag", title: t("risk.estimateTitle") }, t("risk.estimate"));
}

// renderRisk builds the view of report r. opts.compact leaves out the stretches.
export function renderRisk(r, opts = {}) {
  if (!r) return h("p", { class: "muted" }, t("risk.none"));
  const med = r.medical || {};
  return h(
    "section",
    { class: "risk-view", "aria-labelledby": "risk-title" },
    h("h4", { id: "risk-title" }, t("risk.title")),
    h(
      "p",
      { class: "risk-overall" },
      riskBadge(r.level, "large"),
      " ",
      h("span", {}, t("risk.overall", { score: formatNumber(Math.round(r.score || 0)), km: formatNumber(Math.round((r.length_km || 0) * 10) / 10) })),
    ),
    h("p", { class: "muted small" }, t("risk.assessedFor", { at: formatDateTime(r.at), incidents: formatNumber(r.incidents_considered || 0) })),
    medicalBlock(med),
    r.reasons?.length
      ? h("div", {}, h("h5", {}, t("risk.reasons")), h("ul", { class: "risk-reasons" }, r.reasons.map((x) => reasonItem(x))))
      : h("p", { class: "muted" }, t("risk.noReasons")),
    opts.compact ? null : stretches(r),
  );
}

function medicalBlock(m) {
  const est = !!m.road_estimated;
  const row = (level, road, air, within, limit) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, t("risk.medLevel", { level })),
      h("td", { class: "num" }, minutes(road), est && road >= 0 ? [" ", estimateTag()] : null),
      h("td", { class: "num" }, minutes(air)),
      h("td", {}, h("span", { class: within ? "ok-tag" : "bad-tag" }, within ? t("risk.within", { limit }) : t("risk.beyond", { limit }))),
    );
  let verdict;
  if (m.within_1h && m.within_2h) verdict = est ? t("risk.meetsEstimate") : t("risk.meets");
  else if (!m.within_1h && !m.within_2h) verdict = t("risk.missesBoth");
  else if (!m.within_1h) verdict = t("risk.misses1h");
  else verdict = t("risk.misses2h");
  return h(
    "div",
    { class: "risk-medical" },
    h("h5", {}, t("risk.medical")),
    h("p", { class: `risk-verdict ${m.within_1h && m.within_2h ? "ok" : "bad"}` }, verdict, est ? [" ", estimateTag()] : null),
    est ? h("p", { class: "risk-estimate notice small", role: "note" }, t("risk.estimateNote")) : null,
    h(
      "div",
      { class: "grid-scroll" },
      h(
        "table",
        { class: "data" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("risk.medCare")), h("th", { scope: "col", class: "num" }, t("risk.medRoad")), h("th", { scope: "col", class: "num" }, t("risk.medAir")), h("th", { scope: "col" }, t("risk.medTimeline")))),
        h("tbody", {}, row(1, m.level1_road_minutes, m.level1_air_minutes, m.within_1h, 1), row(2, m.level2_road_minutes, m.level2_air_minutes, m.within_2h, 2)),
      ),
    ),
    h("p", { class: "muted small" }, t("risk.worstPoint")),
  );
}

// reasonText says a reason in the reader's language from its code and numbers.
export function reasonText(x) {
  const v = Number(x.value || 0);
  switch (x.code) {
    case "incidents_nearby":
      return t("risk.reason.incidents_nearby", { count: v });
    case "near_repeat":
      return t("risk.reason.near_repeat", { count: v });
    case "restricted_area": {
      const a = state.areas.get(x.area_id);
      return a ? t("risk.reason.restricted_area", { area: a.name }) : x.text;
    }
    case "forecast":
      return t("risk.reason.forecast", { p: formatNumber(Math.round(v * 100)) });
    case "medical_beyond_1h":
      return v < 0 ? t("risk.reason.medical_none", { level: 1 }) : t("risk.reason.medical_beyond_1h", { time: minutes(v) });
    case "medical_beyond_2h":
      return v < 0 ? t("risk.reason.medical_none", { level: 2 }) : t("risk.reason.medical_beyond_2h", { time: minutes(v) });
    case "medical_estimate":
      return t("risk.reason.medical_estimate");
  }
  return x.text || x.code;
}

function reasonItem(x) {
  const ids = x.incident_ids || [];
  return h(
    "li",
    { class: `reason reason-${x.code}`, dataset: { code: x.code } },
    h("span", { class: "reason-text" }, reasonText(x)),
    x.code === "medical_estimate" ? [" ", estimateTag()] : null,
    ids.length
      ? h(
          "span",
          { class: "reason-incidents" },
          " — ",
          t("risk.seeIncidents"),
          " ",
          ids.map((id, i) => [i ? ", " : "", incidentLink(id)]),
        )
      : null,
    // The server's sentence, for the record and for a reader comparing notes.
    x.text ? h("details", { class: "reason-detail small muted" }, h("summary", {}, t("risk.detail")), h("span", { lang: "en" }, x.text)) : null,
  );
}

function incidentLink(id) {
  const a = h("a", { href: `#/incidents/${id}`, class: "incident-link", dataset: { incident: id } }, t("risk.incidentNo", { id }));
  const known = titles.get(id);
  if (known) a.title = known;
  else if (known === undefined) {
    titles.set(id, "");
    api(`/api/v1/incidents/${id}`)
      .then((inc) => {
        titles.set(id, inc.title || "");
        for (const el of document.querySelectorAll(`a.incident-link[data-incident="${id}"]`)) el.title = inc.title || "";
      })
      .catch(() => titles.delete(id));
  }
  return a;
}

function stretches(r) {
  const segs = r.segments || [];
  if (!segs.length) return null;
  const notable = segs.filter((s) => s.level !== "low" || s.reasons?.length);
  return h(
    "details",
    { class: "risk-stretches" },
    h("summary", {}, t("risk.stretches", { count: segs.length, notable: notable.length })),
    h(
      "div",
      { class: "grid-scroll" },
      h(
        "table",
        { class: "data" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("risk.km")), h("th", { scope: "col" }, t("risk.level")), h("th", { scope: "col" }, t("risk.reasons")))),
        h(
          "tbody",
          {},
          segs.map((s) =>
            h(
              "tr",
              { class: `seg-${s.level}` },
              h("th", { scope: "row", class: "num" }, `${formatNumber(Math.round(s.start_km * 10) / 10)}–${formatNumber(Math.round((s.start_km + s.length_km) * 10) / 10)}`),
              h("td", {}, riskBadge(s.level)),
              h("td", { class: "small" }, (s.reasons || []).map((x) => reasonText(x)).join(" · ")),
            ),
          ),
        ),
      ),
    ),
  );
}

// lineOf returns a route's coordinates ([[lon, lat], …]) from a GeoJSON geometry.
export function lineOf(g) {
  return g && g.type === "LineString" && Array.isArray(g.coordinates) ? g.coordinates : null;
}

// showOnMap draws a route on the map coloured by report r (or plain), and frames it.
export function showRouteOnMap(line, r, frame = true) {
  const m = state.map;
  if (!m || !line) return;
  m.showRoute?.(line, r?.segments || null);
  if (frame) m.fitLine?.(line);
}

export function clearRouteOnMap() {
  state.map?.showRoute?.(null);
}
