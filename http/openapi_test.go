package http

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes keeps the hand-written API description and the route
// table from drifting: every route registered on the mux is documented, every
// documented operation is registered, and each one's path parameters and security
// agree with the route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, s := range []string{"bearerAuth", "cookieAuth"} {
		if _, ok := doc.Components.SecuritySchemes[s]; !ok {
			t.Errorf("security scheme %s missing", s)
		}
	}

	s := New(Config{})
	registered := map[string]route{}
	for _, rt := range s.routes {
		registered[rt.pattern()] = rt
	}
	documented := map[string]bool{}
	opIDs := map[string]bool{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			pattern := strings.ToUpper(method) + " " + path
			documented[pattern] = true
			rt, ok := registered[pattern]
			if !ok {
				t.Errorf("documented but not routed: %s", pattern)
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
				Parameters  []struct {
					Ref  string `json:"$ref"`
					Name string `json:"name"`
					In   string `json:"in"`
				} `json:"parameters"`
				Responses map[string]json.RawMessage `json:"responses"`
				Security  *[]json.RawMessage         `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", pattern, err)
				continue
			}
			if op.OperationID == "" || opIDs[op.OperationID] {
				t.Errorf("%s: missing or duplicate operationId %q", pattern, op.OperationID)
			}
			opIDs[op.OperationID] = true
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses", pattern)
			}
			var declared []string
			for _, p := range op.Parameters {
				if p.Ref == "#/components/parameters/id" {
					p.Name, p.In = "id", "path"
				}
				if p.In == "path" {
					declared = append(declared, p.Name)
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !slices.Contains(declared, m[1]) {
					t.Errorf("%s: path parameter %s not declared", pattern, m[1])
				}
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public != rt.public {
				t.Errorf("%s: documented public=%v, routed public=%v", pattern, public, rt.public)
			}
			if !rt.public {
				if _, ok := op.Responses["401"]; !ok {
					t.Errorf("%s: authenticated route documents no 401", pattern)
				}
			}
		}
	}
	for pattern := range registered {
		if !documented[pattern] {
			t.Errorf("routed but not documented: %s", pattern)
		}
	}
}

// TestOpenAPIReferencesResolve checks every $ref in the document points at
// something, so a renamed schema cannot leave a dangling link.
func TestOpenAPIReferencesResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	n := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				n++
				var cur any = doc
				for _, part := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("dangling $ref %s", r)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if n < 50 {
		t.Fatalf("only %d references: is the document complete?", n)
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.ok(req{method: "GET", path: "/api/v1/openapi.json"}, http.StatusOK, nil)
	if r.Header.Get("Content-Type") != "application/json" || string(r.body) != string(openapiJSON) {
		t.Fatalf("served %d bytes as %s", len(r.body), r.Header.Get("Content-Type"))
	}
}
