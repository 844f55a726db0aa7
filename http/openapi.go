package http

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openapiJSON describes every route of the API. It is written by hand, so that it
// reads as documentation; TestOpenAPIMatchesRoutes keeps it and the route table
// from drifting apart.
//
//go:embed openapi.json
var openapiJSON []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openapiJSON)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(openapiJSON)
	return nil
}
