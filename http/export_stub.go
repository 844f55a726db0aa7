package http

import "net/http"

// Temporary until package export lands.
func (s *Server) exportIncidents(w http.ResponseWriter, r *http.Request) error { return nil }
