package ogcapi

import "net/http"

// obj is a JSON object literal; the OpenAPI document is data, and writing it as
// nested literals keeps it next to the code it describes, without a template.
type obj = map[string]any

func ref(name string) obj { return obj{"$ref": name} }

// openAPI returns the OpenAPI 3.0 description of this handler, with the server
// URL of the request's mount point. OGC API – Features requires it (service-desc)
// and GDAL reads it; it must list every query parameter that the handler accepts,
// because any other parameter is refused with 400.
func (h *handler) openAPI(r *http.Request) obj {
	ids := make([]any, 0, len(h.order))
	for _, c := range h.order {
		ids = append(ids, c.id)
	}
	errs := obj{
		"400": ref("#/components/responses/BadRequest"),
		"401": ref("#/components/responses/Unauthorized"),
		"500": ref("#/components/responses/ServerError"),
	}
	with := func(extra obj) obj {
		out := obj{}
		for k, v := range errs {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	jsonBody := func(desc, schema string) obj {
		return obj{"description": desc, "content": obj{mediaJSON: obj{"schema": ref(schema)}}}
	}
	geoBody := func(desc, schema string) obj {
		return obj{"description": desc, "content": obj{mediaGeoJSON: obj{"schema": ref(schema)}}}
	}
	notFound := ref("#/components/responses/NotFound")
	op := func(id, summary, desc string, params []any, responses obj) obj {
		return obj{"get": obj{
			"operationId": id, "summary": summary, "description": desc,
			"tags": []string{"OGC API – Features"}, "parameters": params, "responses": responses,
		}}
	}
	p := func(name string) obj { return ref("#/components/parameters/" + name) }
	str := obj{"type": "string"}
	links := obj{"type": "array", "items": ref("#/components/schemas/link")}
	nullableString := obj{"type": "string", "nullable": true}

	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "bluehelm OGC API – Features",
			"version": "1.0.0",
			"description": "Read access for GIS tools (QGIS, GDAL/OGR OAPIF) to the incidents, areas and latest track " +
				"positions the caller is cleared to see. Records the caller may not see are answered as if they did not exist. " +
				"Only JSON is served (GeoJSON for features), in CRS84 (longitude, latitude).",
		},
		"servers":  []obj{{"url": h.url(r), "description": "This server"}},
		"security": []obj{{"bearerAuth": []string{}}},
		"paths": obj{
			"/": op("getLandingPage", "Landing page", "Links to the API definition, the conformance declaration and the collections.",
				[]any{p("f")}, with(obj{"200": jsonBody("The landing page.", "#/components/schemas/landingPage")})),
			"/api": op("getAPI", "API definition", "This document.", []any{p("f")},
				with(obj{"200": obj{"description": "The OpenAPI 3.0 document.", "content": obj{mediaOpenAPI: obj{"schema": obj{"type": "object"}}}}})),
			"/conformance": op("getConformance", "Conformance declaration", "The OGC conformance classes implemented.",
				[]any{p("f")}, with(obj{"200": jsonBody("The conformance classes.", "#/components/schemas/confClasses")})),
			"/collections": op("getCollections", "Collections", "The feature collections, with the extent of what the caller may see.",
				[]any{p("f")}, with(obj{"200": jsonBody("The collections.", "#/components/schemas/collections")})),
			"/collections/{collectionId}": op("describeCollection", "One collection", "Describes one feature collection.",
				[]any{p("collectionId"), p("f")},
				with(obj{"200": jsonBody("The collection.", "#/components/schemas/collection"), "404": notFound})),
			"/collections/{collectionId}/items": op("getFeatures", "Features of a collection",
				"A page of features. Follow the link with rel=next for the following page. "+
					"incidents: newest first, datetime filters on occurred_start. "+
					"areas: by id, datetime is validated but does not filter (areas have no time of validity). "+
					"tracks: the latest position per track, by uid, datetime filters on the position time.",
				[]any{p("collectionId"), p("bbox"), p("bbox-crs"), p("datetime"), p("limit"), p("cursor"), p("f")},
				with(obj{"200": geoBody("A page of features.", "#/components/schemas/featureCollectionGeoJSON"), "404": notFound})),
			"/collections/{collectionId}/items/{featureId}": op("getFeature", "One feature",
				"One feature by id: the incident or area id, or the track uid.",
				[]any{p("collectionId"), p("featureId"), p("f")},
				with(obj{"200": geoBody("The feature.", "#/components/schemas/featureGeoJSON"), "404": notFound})),
		},
		"components": obj{
			"securitySchemes": obj{"bearerAuth": obj{"type": "http", "scheme": "bearer",
				"description": "A bluehelm API token (bluehelm user token)."}},
			"parameters": obj{
				"collectionId": obj{"name": "collectionId", "in": "path", "required": true,
					"schema": obj{"type": "string", "enum": ids}},
				"featureId": obj{"name": "featureId", "in": "path", "required": true, "schema": str,
					"description": "Incident or area id (an integer) or track uid."},
				"bbox": obj{"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "minLon,minLat,maxLon,maxLat in CRS84, or six numbers with heights (ignored). " +
						"Features whose geometry meets the box, edges included. Boxes crossing the antimeridian are refused.",
					"schema": obj{"type": "array", "minItems": 4, "maxItems": 6, "items": obj{"type": "number"}}},
				"bbox-crs": obj{"name": "bbox-crs", "in": "query", "required": false,
					"description": "Only CRS84 is supported.",
					"schema":      obj{"type": "string", "format": "uri", "enum": []string{crs84, crs84h}}},
				"datetime": obj{"name": "datetime", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "An RFC 3339 date-time, or a closed interval start/end where either end may be open " +
						"(.. or empty), e.g. 2024-05-01T00:00:00Z/2024-06-01T00:00:00Z or 2024-05-01T00:00:00Z/..",
					"schema": str},
				"limit": obj{"name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "Features per page. Values above the maximum are served as the maximum.",
					"schema":      obj{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}},
				"cursor": obj{"name": "cursor", "in": "query", "required": false,
					"description": "Opaque position in the result, set in the next link; do not build it yourself.",
					"schema":      str},
				"f": obj{"name": "f", "in": "query", "required": false, "description": "Encoding; only JSON is served.",
					"schema": obj{"type": "string", "enum": []string{"json", "geojson"}}},
			},
			"responses": obj{
				"BadRequest":   problemResponse("A query parameter is unknown, repeated or invalid."),
				"Unauthorized": problemResponse("No or invalid credentials."),
				"NotFound":     problemResponse("No such collection or feature, or one the caller may not see."),
				"ServerError":  problemResponse("An internal error; details are logged, not shown."),
			},
			"schemas": obj{
				"link": obj{"type": "object", "required": []string{"href", "rel"}, "properties": obj{
					"href": str, "rel": str, "type": str, "title": str}},
				"landingPage": obj{"type": "object", "required": []string{"links"}, "properties": obj{
					"title": str, "description": str, "links": links}},
				"confClasses": obj{"type": "object", "required": []string{"conformsTo"}, "properties": obj{
					"conformsTo": obj{"type": "array", "items": str}}},
				"collections": obj{"type": "object", "required": []string{"links", "collections"}, "properties": obj{
					"links": links, "collections": obj{"type": "array", "items": ref("#/components/schemas/collection")}}},
				"collection": obj{"type": "object", "required": []string{"id", "links"}, "properties": obj{
					"id": str, "title": str, "description": str, "itemType": str,
					"crs":    obj{"type": "array", "items": str},
					"extent": ref("#/components/schemas/extent"),
					"links":  links}},
				"extent": obj{"type": "object", "properties": obj{
					"spatial": obj{"type": "object", "properties": obj{
						"bbox": obj{"type": "array", "items": obj{"type": "array", "minItems": 4, "maxItems": 4, "items": obj{"type": "number"}}},
						"crs":  str}},
					"temporal": obj{"type": "object", "properties": obj{
						"interval": obj{"type": "array", "items": obj{"type": "array", "minItems": 2, "maxItems": 2, "items": nullableString}},
						"trs":      str}}}},
				"featureCollectionGeoJSON": obj{"type": "object", "required": []string{"type", "features"}, "properties": obj{
					"type":           obj{"type": "string", "enum": []string{"FeatureCollection"}},
					"features":       obj{"type": "array", "items": ref("#/components/schemas/featureGeoJSON")},
					"links":          links,
					"timeStamp":      obj{"type": "string", "format": "date-time"},
					"numberMatched":  obj{"type": "integer", "minimum": 0, "description": "Given for areas and tracks; not for incidents."},
					"numberReturned": obj{"type": "integer", "minimum": 0}}},
				"featureGeoJSON": obj{"type": "object", "required": []string{"type", "geometry", "properties"}, "properties": obj{
					"type":       obj{"type": "string", "enum": []string{"Feature"}},
					"id":         obj{"oneOf": []obj{{"type": "string"}, {"type": "integer"}}},
					"geometry":   ref("#/components/schemas/geometryGeoJSON"),
					"properties": obj{"type": "object", "nullable": true},
					"links":      links}},
				"geometryGeoJSON": obj{"type": "object", "required": []string{"type", "coordinates"}, "properties": obj{
					"type":        obj{"type": "string", "enum": []string{"Point", "LineString", "Polygon", "MultiPolygon"}},
					"coordinates": obj{"type": "array"}}},
				"exception": obj{"type": "object", "required": []string{"title", "status"},
					"description": "RFC 9457 problem details.", "properties": obj{
						"type": str, "title": str, "status": obj{"type": "integer"}, "detail": str,
						"code": str, "field": str}},
			},
		},
	}
}

func problemResponse(desc string) obj {
	return obj{"description": desc, "content": obj{mediaProblem: obj{"schema": ref("#/components/schemas/exception")}}}
}
