// The medical coverage layer (issue 8): where the 1-hour and 2-hour CASEVAC
// standards can be met from the current facilities and evacuation assets
// (GET /api/v1/coverage?format=geojson, runs of equal cells along a row).
// Green: both standards; amber: 2 hours only (surgery in time, advanced care
// late); orange: 1 hour only; red: neither.
// The medical facilities are drawn on it as white dots ringed in red, larger for
// Level 2 and above. Drawn under the tracks and markers, so it never hides them.

const SOURCE = "casevac-coverage";
const FACILITIES = "casevac-facilities";
export const coverageLayerIds = ["casevac-coverage-fill", "casevac-facilities-circle"];

const color = ["case",
  ["all", ["get", "within_1h"], ["get", "within_2h"]], "#46a758",
  ["get", "within_2h"], "#f5a524",
  ["get", "within_1h"], "#f08c00",
  "#e5484d"];

// firstSymbol is the first label or icon layer: the coverage goes under it.
function firstSymbol(map) {
  return map.getStyle()?.layers?.find((l) => l.type === "symbol")?.id;
}

// facilityPoints makes the registry a point collection: Level 2 and above
// (surgery) drawn larger than Level 1; out-of-service facilities left out.
function facilityPoints(facilities) {
  return {
    type: "FeatureCollection",
    features: (facilities || []).filter((f) => !f.out_of_service && f.location).map((f) => ({
      type: "Feature", geometry: f.location, properties: { id: f.id, surgical: ["2", "2+", "3", "4"].includes(f.level) },
    })),
  };
}

// showCoverage draws the coverage grid and the medical facilities on top of it.
export function showCoverage(map, geojson, facilities) {
  if (!map) return false;
  const before = firstSymbol(map);
  for (const [id, data] of [[SOURCE, geojson], [FACILITIES, facilityPoints(facilities)]]) {
    const src = map.getSource(id);
    if (src) src.setData(data);
    else map.addSource(id, { type: "geojson", data });
  }
  if (!map.getLayer(coverageLayerIds[0])) {
    map.addLayer({ id: coverageLayerIds[0], type: "fill", source: SOURCE, paint: { "fill-color": color, "fill-opacity": 0.3 } }, before);
  }
  if (!map.getLayer(coverageLayerIds[1])) {
    map.addLayer({ id: coverageLayerIds[1], type: "circle", source: FACILITIES, paint: {
      "circle-radius": ["case", ["get", "surgical"], 7, 5], "circle-color": "#ffffff",
      "circle-stroke-color": "#e5484d", "circle-stroke-width": ["case", ["get", "surgical"], 3, 2],
    } }, before);
  }
  return true;
}

export function hideCoverage(map) {
  if (!map) return;
  for (const id of coverageLayerIds) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of [SOURCE, FACILITIES]) if (map.getSource(id)) map.removeSource(id);
}
