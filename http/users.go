package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

type userCreate struct {
	Username  string                  `json:"username"`
	Name      string                  `json:"name"`
	Role      bluehelm.Role           `json:"role"`
	Component bluehelm.Component      `json:"component"`
	Clearance bluehelm.Classification `json:"clearance"`
	Password  string                  `json:"password"`
}

// userUpdate changes only what it names: an administrator raising a clearance
// should not have to restate (and risk mistyping) the role.
type userUpdate struct {
	Name      *string                  `json:"name"`
	Role      *bluehelm.Role           `json:"role"`
	Component *bluehelm.Component      `json:"component"`
	Clearance *bluehelm.Classification `json:"clearance"`
	Disabled  *bool                    `json:"disabled"`
	Password  string                   `json:"password"`
}

type tokenRequest struct {
	Name     string `json:"name"`
	TTLHours *int   `json:"ttl_hours"`
}

// Token lifetimes. There are no eternal tokens: a forgotten GIS workstation's token
// should die on its own.
const (
	defaultTokenTTL = 90 * 24
	maxTokenTTL     = 366 * 24
)

type tokenIssued struct {
	*bluehelm.Token
	// Secret is shown once; only its hash is stored.
	Secret string `json:"token"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	if err := principal(r).Require(bluehelm.ActManageUsers); err != nil {
		return err
	}
	users, err := s.cfg.Store.Users(r.Context())
	if err != nil {
		return err
	}
	out := make([]*bluehelm.User, len(users))
	for i, u := range users {
		out[i] = utcUser(u)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(bluehelm.ActManageUsers); err != nil {
		return err
	}
	var req userCreate
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	u := &bluehelm.User{Username: strings.ToLower(strings.TrimSpace(req.Username)), Name: req.Name,
		Role: req.Role, Component: req.Component, Clearance: req.Clearance}
	if err := s.cfg.Auth.CreateUser(r.Context(), p, u, req.Password); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+itoa64(u.ID))
	return writeJSON(w, http.StatusCreated, utcUser(u))
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(bluehelm.ActManageUsers); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req userUpdate
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	cur, err := s.cfg.Store.User(r.Context(), id)
	if err != nil {
		return err
	}
	u := *cur
	if req.Name != nil {
		u.Name = *req.Name
	}
	if req.Role != nil {
		u.Role = *req.Role
	}
	if req.Component != nil {
		u.Component = *req.Component
	}
	if req.Clearance != nil {
		u.Clearance = *req.Clearance
	}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
	}
	if p.UserID == id && (u.Disabled || u.Role != cur.Role) {
		// An administrator locking themselves out leaves a mission without one.
		return bluehelm.Errorf(bluehelm.ECONFLICT, "you may not disable yourself or change your own role; ask another administrator")
	}
	if err := s.cfg.Auth.UpdateUser(r.Context(), p, &u, req.Password); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, utcUser(&u))
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.RequireTokenOwner(id); err != nil {
		return err
	}
	if _, err := s.cfg.Store.User(r.Context(), id); err != nil {
		return err
	}
	toks, err := s.cfg.Store.Tokens(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]*bluehelm.Token, len(toks))
	for i, t := range toks {
		out[i] = utcToken(t)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.RequireTokenOwner(id); err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	ttl := defaultTokenTTL
	if req.TTLHours != nil {
		ttl = *req.TTLHours
		if ttl < 1 || ttl > maxTokenTTL {
			return invalid("ttl_hours", "must be from 1 to %d hours", maxTokenTTL)
		}
	}
	secret, tok, err := s.cfg.Auth.IssueToken(r.Context(), p, id, req.Name, time.Duration(ttl)*time.Hour)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tokens/"+itoa64(tok.ID))
	return writeJSON(w, http.StatusCreated, tokenIssued{Token: utcToken(tok), Secret: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.Auth.RevokeToken(r.Context(), principal(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
