// Colours of the map, per theme: "dark" for the JOC wall screen, "light" for an
// office or a tablet in daylight. Overlay colours that carry meaning (incident
// categories, area kinds, alert severities) are the same in both themes so that a
// legend learnt on one screen holds on the other.

export const themes = {
  dark: {
    ocean: "#0a1620", land: "#18242f", coast: "#3f6079", border: "#6b8092",
    grat: "rgba(140,170,200,0.22)", gratMinor: "rgba(140,170,200,0.12)",
    label: "#8fa4b6", halo: "#0a1620", text: "#e8eef3",
    cluster: "#26384a", clusterStroke: "#9fb7cc", clusterText: "#ffffff", incStroke: "#0a1620",
    areaText: "#cfe3f3", vector: ["#2d4257", "#3a4d3e", "#4b4058", "#57503c", "#355656", "#503a3a"],
  },
  light: {
    ocean: "#c6dbea", land: "#f3f0e8", coast: "#7096b3", border: "#998d80",
    grat: "rgba(50,80,110,0.22)", gratMinor: "rgba(50,80,110,0.12)",
    label: "#5d554b", halo: "#ffffff", text: "#12181d",
    cluster: "#37474f", clusterStroke: "#ffffff", clusterText: "#ffffff", incStroke: "#ffffff",
    areaText: "#1b3a55", vector: ["#b9c9d6", "#c4d3b8", "#d3c4d9", "#ddd3b5", "#b5d6d3", "#d9bdbd"],
  },
};

// Incident categories of the taxonomy (taxonomy.go), in its display order, with
// their colours. A category this page does not know is drawn as "other".
export const categoryColors = {
  armed_clash: "#e41a1c",
  attack_on_un: "#d81b9a",
  explosive: "#ff7f00",
  violence_against_civilians: "#b2182b",
  kidnapping: "#8e44ad",
  armed_robbery: "#a6761d",
  protest: "#f0c419",
  armed_movement: "#6a8f1e",
  threat: "#f781bf",
  arrest: "#3a7ebf",
  displacement: "#17becf",
  humanitarian_access: "#1b9e77",
  drone: "#7570b3",
  accident: "#9c9c3c",
  natural_hazard: "#2ca25f",
  other: "#8c8c8c",
};
export const categories = Object.keys(categoryColors);

// Area kinds (area.go): line colour, fill colour and fill opacity, dashed or not.
export const areaStyles = {
  aor: { line: "#5ab4ff", fill: "#5ab4ff", opacity: 0.04, dashed: true, width: 2.5 },
  camp: { line: "#4b92db", fill: "#4b92db", opacity: 0.22, dashed: false, width: 2 },
  camp_zone: { line: "#8ec9f2", fill: "#8ec9f2", opacity: 0.12, dashed: false, width: 1.2 },
  restricted: { line: "#ff4040", fill: "#ff4040", opacity: 0.12, dashed: false, width: 2.5 },
  patrol_sector: { line: "#ffb300", fill: "#ffb300", opacity: 0.06, dashed: true, width: 2 },
  route: { line: "#c77dff", fill: "#c77dff", opacity: 0, dashed: true, width: 3 },
};
export const areaKinds = Object.keys(areaStyles);

// Alert severities (alert.go).
export const severityColors = { critical: "#ff1744", warning: "#ffa000", info: "#40a4ff" };

// match builds a MapLibre "match" expression from a property to a table of values.
export function match(prop, table, key, fallback) {
  const e = ["match", ["get", prop]];
  for (const [k, v] of Object.entries(table)) e.push(k, key ? v[key] : v);
  e.push(fallback);
  return e;
}
