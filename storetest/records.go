package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func newArea(name string) *bluehelm.Area {
	return &bluehelm.Area{
		Name: name, Kind: bluehelm.AreaRestricted, Description: "No-go after dark",
		Geometry:  square(31.6, 4.85, 0.05),
		Rules:     []bluehelm.AreaRule{{Trigger: bluehelm.TriggerEnter, TrackKinds: []bluehelm.TrackKind{bluehelm.KindVehicle}, Severity: bluehelm.SevWarning}},
		Marking:   unclassified,
		CreatedBy: "ops1", CreatedAt: t0, UpdatedAt: t0,
	}
}

func testAreas(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	a, b := newArea("Juba airstrip"), newArea("Bor market")
	for _, x := range []*bluehelm.Area{a, b} {
		must(t, s.CreateArea(ctx, x, entry("area.create")), "CreateArea")
		if x.ID == 0 || x.Version != 1 {
			t.Fatalf("after create: id %d version %d", x.ID, x.Version)
		}
	}
	got, err := s.Area(ctx, a.ID)
	must(t, err, "Area")
	sameJSON(t, got, a, "stored area")

	stale := *a
	a.Name = "Juba airstrip (extended)"
	a.Geometry = square(31.6, 4.85, 0.1)
	must(t, s.UpdateArea(ctx, a, entry("area.update")), "UpdateArea")
	if a.Version != 2 {
		t.Errorf("version after update %d, want 2", a.Version)
	}
	wantCode(t, s.UpdateArea(ctx, &stale, entry("area.update")), bluehelm.ECONFLICT, "UpdateArea from a stale version")
	got, err = s.Area(ctx, a.ID)
	must(t, err, "Area")
	sameJSON(t, got, a, "area after update")

	wantCode(t, s.DeleteArea(ctx, a.ID, 1, entry("area.delete")), bluehelm.ECONFLICT, "DeleteArea of a stale version")
	must(t, s.DeleteArea(ctx, a.ID, 2, entry("area.delete")), "DeleteArea")
	_, err = s.Area(ctx, a.ID)
	wantCode(t, err, bluehelm.ENOTFOUND, "Area after delete")
	wantCode(t, s.DeleteArea(ctx, a.ID, 2, entry("area.delete")), bluehelm.ENOTFOUND, "DeleteArea twice")
	ghost := newArea("ghost")
	ghost.ID, ghost.Version = 424242, 1
	wantCode(t, s.UpdateArea(ctx, ghost, entry("area.update")), bluehelm.ENOTFOUND, "UpdateArea of unknown id")

	// Audit entries and clients name areas by id: a deleted id is not reused.
	c := newArea("Wau camp")
	must(t, s.CreateArea(ctx, c, entry("area.create")), "CreateArea")
	if c.ID == a.ID {
		t.Errorf("new area reuses deleted id %d", a.ID)
	}
	all, err := s.Areas(ctx)
	must(t, err, "Areas")
	sameJSON(t, all, []*bluehelm.Area{b, c}, "Areas")
}

func newAlert(title string, at time.Time, m bluehelm.Marking) *bluehelm.Alert {
	return &bluehelm.Alert{
		Source: bluehelm.AlertGeofence, Severity: bluehelm.SevWarning, State: bluehelm.AlertOpen,
		Title: title, Detail: "Vehicle entered restricted area", Location: &bluehelm.Point{Lon: 31.6, Lat: 4.85},
		TrackUID: "unit-alpha", AreaID: 3, Marking: m, RaisedAt: at, RaisedBy: "geofence",
	}
}

func testAlerts(t *testing.T, o Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		a := newAlert("Vehicle in no-go area", t0, unclassified)
		must(t, s.CreateAlert(ctx, a, entry("alert.raise")), "CreateAlert")
		if a.ID == 0 || a.Version != 1 {
			t.Fatalf("after create: id %d version %d", a.ID, a.Version)
		}
		got, err := s.Alert(ctx, a.ID)
		must(t, err, "Alert")
		sameJSON(t, got, a, "stored alert")

		stale := *a
		ops := bluehelm.Principal{Username: "ops1", Role: bluehelm.RoleOperations, Component: bluehelm.Military}
		must(t, a.Acknowledge(ops, t0.Add(time.Minute)), "Acknowledge")
		must(t, s.UpdateAlert(ctx, a, entry("alert.acknowledge")), "UpdateAlert")
		if a.Version != 2 {
			t.Errorf("version after update %d, want 2", a.Version)
		}
		must(t, stale.Resolve(ops, t0.Add(2*time.Minute), "false alarm"), "Resolve")
		wantCode(t, s.UpdateAlert(ctx, &stale, entry("alert.resolve")), bluehelm.ECONFLICT, "UpdateAlert from a stale version")
		got, err = s.Alert(ctx, a.ID)
		must(t, err, "Alert")
		sameJSON(t, got, a, "alert after update")

		_, err = s.Alert(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "Alert of unknown id")
		ghost := newAlert("ghost", t0, unclassified)
		ghost.ID, ghost.Version = 424242, 1
		wantCode(t, s.UpdateAlert(ctx, ghost, entry("alert.update")), bluehelm.ENOTFOUND, "UpdateAlert of unknown id")
	})

	t.Run("Filter", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		var alerts []*bluehelm.Alert
		states := []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged, bluehelm.AlertResolved}
		for i, m := range allMarkings() {
			// 97 distinct times for 192 alerts: ties, which the id must break.
			a := newAlert(fmt.Sprintf("Alert %d", i), t0.Add(time.Duration((i*53)%97)*time.Minute), m)
			must(t, s.CreateAlert(ctx, a, entry("alert.raise")), "CreateAlert")
			if st := states[i%3]; st != bluehelm.AlertOpen {
				a.State = st
				must(t, s.UpdateAlert(ctx, a, entry("alert.update")), "UpdateAlert")
			}
			alerts = append(alerts, a)
		}
		byID := map[int64]*bluehelm.Alert{}
		for _, a := range alerts {
			byID[a.ID] = a
		}
		since := t0.Add(60 * time.Minute)
		filters := []struct {
			name string
			f    bluehelm.AlertFilter
		}{
			{"all", bluehelm.AlertFilter{}},
			{"open", bluehelm.AlertFilter{States: []bluehelm.AlertState{bluehelm.AlertOpen}}},
			{"open or acknowledged", bluehelm.AlertFilter{States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}}},
			{"since", bluehelm.AlertFilter{Since: since}},
			{"open since", bluehelm.AlertFilter{States: []bluehelm.AlertState{bluehelm.AlertOpen}, Since: since}},
		}
		for _, p := range viewers() {
			for _, tc := range filters {
				for _, limit := range []int{5, 1000} {
					t.Run(fmt.Sprintf("%s/%s/limit=%d", viewerName(p), tc.name, limit), func(t *testing.T) {
						f := tc.f
						f.Viewer, f.Limit = p, limit
						var want []int64
						for _, a := range alerts {
							if p.CanSee(a.Marking) && (len(f.States) == 0 || slices.Contains(f.States, a.State)) && !a.RaisedAt.Before(f.Since) {
								want = append(want, a.ID)
							}
						}
						// Newest first, ties by id descending, like incidents.
						slices.SortFunc(want, func(x, y int64) int {
							ax, ay := byID[x], byID[y]
							if c := ay.RaisedAt.Compare(ax.RaisedAt); c != 0 {
								return c
							}
							return cmpInt(y, x)
						})
						want = want[:min(limit, len(want))]
						got, err := s.Alerts(ctx, f)
						must(t, err, "Alerts")
						ids := make([]int64, len(got))
						for i, a := range got {
							ids[i] = a.ID
						}
						checkIDs(t, ids, want, "alerts")
					})
				}
			}
		}
	})
}

func testUsers(t *testing.T, o Opener) {
	t.Run("Users", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		u := &bluehelm.User{Username: "jdoe", Name: "Jane Doe", Role: bluehelm.RoleOperations, Component: bluehelm.Military,
			Clearance: bluehelm.Confidential, CreatedAt: t0, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"}
		must(t, s.CreateUser(ctx, u, entry("user.create")), "CreateUser")
		if u.ID == 0 {
			t.Fatal("CreateUser did not set the id")
		}
		for _, get := range []func() (*bluehelm.User, error){
			func() (*bluehelm.User, error) { return s.User(ctx, u.ID) },
			func() (*bluehelm.User, error) { return s.UserByUsername(ctx, "jdoe") },
		} {
			got, err := get()
			must(t, err, "get user")
			sameJSON(t, got, u, "stored user")
			if got.PasswordHash != u.PasswordHash {
				t.Errorf("password hash %q, want %q", got.PasswordHash, u.PasswordHash)
			}
		}
		dup := *u
		dup.ID, dup.Name = 0, "Another Jane"
		wantCode(t, s.CreateUser(ctx, &dup, entry("user.create")), bluehelm.ECONFLICT, "CreateUser with a taken username")

		u.Disabled, u.Role, u.PasswordHash = true, bluehelm.RoleViewer, "new-hash"
		must(t, s.UpdateUser(ctx, u, entry("user.update")), "UpdateUser")
		got, err := s.User(ctx, u.ID)
		must(t, err, "User")
		sameJSON(t, got, u, "updated user")
		if got.PasswordHash != "new-hash" {
			t.Errorf("password hash not updated: %q", got.PasswordHash)
		}

		v := &bluehelm.User{Username: "analyst2", Name: "A. Nalyst", Role: bluehelm.RoleAnalyst, Component: bluehelm.Civilian, CreatedAt: t0}
		must(t, s.CreateUser(ctx, v, entry("user.create")), "CreateUser")
		taken := *v
		taken.Username = "jdoe"
		wantCode(t, s.UpdateUser(ctx, &taken, entry("user.update")), bluehelm.ECONFLICT, "UpdateUser to a taken username")
		all, err := s.Users(ctx)
		must(t, err, "Users")
		sameJSON(t, all, []*bluehelm.User{v, u}, "Users (by username)")

		_, err = s.User(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "User of unknown id")
		_, err = s.UserByUsername(ctx, "nobody")
		wantCode(t, err, bluehelm.ENOTFOUND, "UserByUsername of unknown name")
		ghost := *u
		ghost.ID, ghost.Username = 424242, "ghost"
		wantCode(t, s.UpdateUser(ctx, &ghost, entry("user.update")), bluehelm.ENOTFOUND, "UpdateUser of unknown id")
	})

	t.Run("Language", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		u := &bluehelm.User{Username: "jdoe", Name: "Jane Doe", Role: bluehelm.RoleOperations, Component: bluehelm.Military,
			Clearance: bluehelm.Confidential, CreatedAt: t0, Language: "fr", PasswordHash: "h1"}
		must(t, s.CreateUser(ctx, u, entry("user.create")), "CreateUser")
		got, err := s.User(ctx, u.ID)
		must(t, err, "User")
		sameJSON(t, got, u, "created user with a language")

		// SetUserLanguage changes the language only: a concurrent UpdateUser
		// (here, the clearance lowered after the page was loaded) stays.
		lowered := *u
		lowered.Clearance = bluehelm.Unclassified
		must(t, s.UpdateUser(ctx, &lowered, entry("user.update")), "UpdateUser")
		for _, lang := range []string{"ar", "", "en"} {
			before := auditCount(t, s)
			must(t, s.SetUserLanguage(ctx, u.ID, lang, entry("user.preferences")), "SetUserLanguage "+lang)
			checkAudited(t, s, before, "user.preferences", "user", u.ID)
			got, err := s.UserByUsername(ctx, "jdoe")
			must(t, err, "UserByUsername")
			want := lowered
			want.Language = lang
			sameJSON(t, got, &want, "user after SetUserLanguage "+lang)
			if got.PasswordHash != "h1" {
				t.Errorf("password hash changed to %q", got.PasswordHash)
			}
		}
		// UpdateUser writes the language it is given (it replaces the row).
		lowered.Language = "fr"
		must(t, s.UpdateUser(ctx, &lowered, entry("user.update")), "UpdateUser")
		got, err = s.User(ctx, u.ID)
		must(t, err, "User")
		sameJSON(t, got, &lowered, "user after UpdateUser")

		before := auditCount(t, s)
		wantCode(t, s.SetUserLanguage(ctx, 424242, "fr", entry("user.preferences")), bluehelm.ENOTFOUND, "SetUserLanguage of unknown id")
		if n := auditCount(t, s); n != before {
			t.Errorf("a failed SetUserLanguage appended %d audit entries", n-before)
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		u := &bluehelm.User{Username: "device-17", Name: "Tracker 17", Role: bluehelm.RoleReporter, Component: bluehelm.Police, CreatedAt: t0}
		must(t, s.CreateUser(ctx, u, entry("user.create")), "CreateUser")
		exp := t0.Add(90 * 24 * time.Hour)
		a := &bluehelm.Token{UserID: u.ID, Name: "gps feed", Hash: "sha256:aaaa", CreatedAt: t0, ExpiresAt: &exp}
		b := &bluehelm.Token{UserID: u.ID, Name: "backup", Hash: "sha256:bbbb", CreatedAt: t0}
		for _, tok := range []*bluehelm.Token{a, b} {
			must(t, s.CreateToken(ctx, tok, entry("token.create")), "CreateToken")
			if tok.ID == 0 {
				t.Fatal("CreateToken did not set the id")
			}
		}
		got, err := s.TokenByHash(ctx, "sha256:aaaa")
		must(t, err, "TokenByHash")
		sameJSON(t, got, a, "stored token")
		if got.Hash != a.Hash {
			t.Errorf("hash %q, want %q", got.Hash, a.Hash)
		}
		dup := *b
		dup.Name = "dup"
		wantCode(t, s.CreateToken(ctx, &dup, entry("token.create")), bluehelm.ECONFLICT, "CreateToken with a stored hash")

		must(t, s.RevokeToken(ctx, a.ID, entry("token.revoke")), "RevokeToken")
		got, err = s.TokenByHash(ctx, "sha256:aaaa")
		must(t, err, "TokenByHash")
		if !got.Revoked {
			t.Error("token not revoked")
		}
		a.Revoked = true
		list, err := s.Tokens(ctx, u.ID)
		must(t, err, "Tokens")
		sameJSON(t, list, []*bluehelm.Token{a, b}, "Tokens")
		list, err = s.Tokens(ctx, u.ID+1000)
		must(t, err, "Tokens of another user")
		if len(list) != 0 {
			t.Errorf("%d tokens for a user without tokens", len(list))
		}

		_, err = s.TokenByHash(ctx, "sha256:none")
		wantCode(t, err, bluehelm.ENOTFOUND, "TokenByHash of unknown hash")
		wantCode(t, s.RevokeToken(ctx, 424242, entry("token.revoke")), bluehelm.ENOTFOUND, "RevokeToken of unknown id")
	})

	t.Run("Sessions", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		u := &bluehelm.User{Username: "jdoe", Name: "Jane Doe", Role: bluehelm.RoleViewer, Component: bluehelm.Civilian, CreatedAt: t0}
		must(t, s.CreateUser(ctx, u, entry("user.create")), "CreateUser")
		sess := &bluehelm.Session{Hash: "sha256:cookie", UserID: u.ID, CSRF: "csrf-token", CreatedAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
		must(t, s.CreateSession(ctx, sess), "CreateSession")
		got, err := s.SessionByHash(ctx, sess.Hash)
		must(t, err, "SessionByHash")
		sameJSON(t, got, sess, "stored session")
		wantCode(t, s.CreateSession(ctx, sess), bluehelm.ECONFLICT, "CreateSession with a stored hash")
		must(t, s.DeleteSession(ctx, sess.Hash), "DeleteSession")
		_, err = s.SessionByHash(ctx, sess.Hash)
		wantCode(t, err, bluehelm.ENOTFOUND, "SessionByHash after delete")
		wantCode(t, s.DeleteSession(ctx, sess.Hash), bluehelm.ENOTFOUND, "DeleteSession twice")
	})
}
