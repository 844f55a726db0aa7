// The medical coverage layer (issue 8): where the 1-hour and 2-hour CASEVAC
// standards can be met from the current facilities and evacuation assets
// (GET /api/v1/coverage?format=geojson, runs of equal cells along a row).
// Green: both standards; amber: 2 hours only (surgery in time, advanced care
// late); orange: 1 hour only; red: neither.
// Drawn under the tracks and markers, so it never hides them.

const SOURCE = "casevac-coverage";
export const coverageLayerIds = ["casevac-coverage-fill"];

const color = ["case",
  ["all", ["get", "within_1h"], ["get", "within_2h"]], "#46a758",
  ["get", "within_2h"], "#f5a524",
  ["get", "within_1h"], "#f08c00",
  "#e5484d"];

// firstSymbol is the first label or icon layer: the coverage goes under it.
function firstSymbol(map) {
  return map.getStyle()?.layers?.find((l) => l.type === "symbol")?.id;
}

export function showCoverage(map, geojson) {
  if (!map) return false;
  const src = map.getSource(SOURCE);
  if (src) src.setData(geojson);
  else map.addSource(SOURCE, { type: "geojson", data: geojson });
  if (!map.getLayer(coverageLayerIds[0])) {
    map.addLayer({ id: coverageLayerIds[0], type: "fill", source: SOURCE, paint: { "fill-color": color, "fill-opacity": 0.3 } }, firstSymbol(map));
  }
  return true;
}

export function hideCoverage(map) {
  if (!map) return;
  for (const id of coverageLayerIds) if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(SOURCE)) map.removeSource(SOURCE);
}
