package storetest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func testAudit(t *testing.T, o Opener) {
	t.Run("EveryWrite", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		var (
			inc   = newIncident("Audited", t0, bluehelm.Point{Lon: 30, Lat: 7}, unclassified)
			area  = newArea("Audited area")
			alert = newAlert("Audited alert", t0, unclassified)
			user  = &bluehelm.User{Username: "auditee", Name: "A", Role: bluehelm.RoleViewer, Component: bluehelm.Civilian, CreatedAt: t0}
			tok   = &bluehelm.Token{Name: "t", Hash: "sha256:audit", CreatedAt: t0}
			unit  = newUnit("AUDIT-1")
			pat   = newPatrol("Audited patrol", []string{"AUDIT-1"}, t0, 4*time.Hour, unclassified)
			task  = newTask("Audited task", "AUDIT-1", 0, t0, unclassified)
			fac   = newFacility("Audited clinic", "1")
			rule  = newProximityRule("Audited rule")
		)
		idOf := map[string]func() int64{
			"incident": func() int64 { return inc.ID }, "area": func() int64 { return area.ID },
			"alert": func() int64 { return alert.ID }, "user": func() int64 { return user.ID }, "token": func() int64 { return tok.ID },
			"unit": func() int64 { return unit.ID }, "patrol": func() int64 { return pat.ID }, "task": func() int64 { return task.ID },
			"facility": func() int64 { return fac.ID }, "proximity_rule": func() int64 { return rule.ID },
		}
		steps := []struct {
			action  string
			write   func(e bluehelm.AuditEntry) error
			fails   string // the error code the write must fail with; "" for success
			objects string // the record kind whose id the filled-in Object must name
		}{
			{"incident.create", func(e bluehelm.AuditEntry) error { return s.CreateIncident(ctx, inc, e) }, "", "incident"},
			{"incident.edit", func(e bluehelm.AuditEntry) error { return s.UpdateIncident(ctx, inc, "edit", e) }, "", "incident"},
			{"incident.edit", func(e bluehelm.AuditEntry) error {
				stale := *inc
				stale.Version--
				return s.UpdateIncident(ctx, &stale, "edit", e)
			}, bluehelm.ECONFLICT, ""},
			{"incident.import", func(e bluehelm.AuditEntry) error {
				_, _, err := s.ImportIncidents(ctx, withExternalIDs(dataset(3, 9), "audit"), e)
				return err
			}, "", ""},
			{"area.create", func(e bluehelm.AuditEntry) error { return s.CreateArea(ctx, area, e) }, "", "area"},
			{"area.update", func(e bluehelm.AuditEntry) error { return s.UpdateArea(ctx, area, e) }, "", "area"},
			{"area.delete", func(e bluehelm.AuditEntry) error { return s.DeleteArea(ctx, area.ID, area.Version+1, e) }, bluehelm.ECONFLICT, ""},
			{"area.delete", func(e bluehelm.AuditEntry) error { return s.DeleteArea(ctx, area.ID, area.Version, e) }, "", "area"},
			{"alert.raise", func(e bluehelm.AuditEntry) error { return s.CreateAlert(ctx, alert, e) }, "", "alert"},
			{"alert.acknowledge", func(e bluehelm.AuditEntry) error {
				alert.State = bluehelm.AlertAcknowledged
				return s.UpdateAlert(ctx, alert, e)
			}, "", "alert"},
			{"user.create", func(e bluehelm.AuditEntry) error { return s.CreateUser(ctx, user, e) }, "", "user"},
			{"user.create", func(e bluehelm.AuditEntry) error {
				dup := *user
				return s.CreateUser(ctx, &dup, e)
			}, bluehelm.ECONFLICT, ""},
			{"user.update", func(e bluehelm.AuditEntry) error {
				user.Disabled = true
				return s.UpdateUser(ctx, user, e)
			}, "", "user"},
			{"token.create", func(e bluehelm.AuditEntry) error {
				tok.UserID = user.ID
				return s.CreateToken(ctx, tok, e)
			}, "", "token"},
			{"token.revoke", func(e bluehelm.AuditEntry) error { return s.RevokeToken(ctx, tok.ID, e) }, "", "token"},
			{"unit.create", func(e bluehelm.AuditEntry) error { return s.CreateUnit(ctx, unit, e) }, "", "unit"},
			{"unit.create", func(e bluehelm.AuditEntry) error { return s.CreateUnit(ctx, newUnit("AUDIT-1"), e) }, bluehelm.ECONFLICT, ""},
			{"unit.update", func(e bluehelm.AuditEntry) error { return s.UpdateUnit(ctx, unit, e) }, "", "unit"},
			{"patrol.create", func(e bluehelm.AuditEntry) error { return s.CreatePatrol(ctx, pat, e) }, "", "patrol"},
			{"patrol.submit", func(e bluehelm.AuditEntry) error {
				pat.Status = bluehelm.PatrolSubmitted
				return s.UpdatePatrol(ctx, pat, e)
			}, "", "patrol"},
			{"patrol.approve", func(e bluehelm.AuditEntry) error {
				stale := *pat
				stale.Version--
				return s.UpdatePatrol(ctx, &stale, e)
			}, bluehelm.ECONFLICT, ""},
			{"task.dispatch", func(e bluehelm.AuditEntry) error { return s.CreateTask(ctx, task, e) }, "", "task"},
			{"task.en_route", func(e bluehelm.AuditEntry) error {
				task.Status = bluehelm.TaskEnRoute
				return s.UpdateTask(ctx, task, e)
			}, "", "task"},
			{"facility.create", func(e bluehelm.AuditEntry) error { return s.CreateFacility(ctx, fac, e) }, "", "facility"},
			{"facility.update", func(e bluehelm.AuditEntry) error { return s.UpdateFacility(ctx, fac, e) }, "", "facility"},
			{"proximity.create", func(e bluehelm.AuditEntry) error { return s.CreateProximityRule(ctx, rule, e) }, "", "proximity_rule"},
			{"proximity.update", func(e bluehelm.AuditEntry) error { return s.UpdateProximityRule(ctx, rule, e) }, "", "proximity_rule"},
			{"proximity.delete", func(e bluehelm.AuditEntry) error { return s.DeleteProximityRule(ctx, rule.ID, rule.Version, e) }, "", "proximity_rule"},
			{"login.failed", func(e bluehelm.AuditEntry) error {
				e.Object = "user/nobody"
				return s.AppendAudit(ctx, e)
			}, "", ""},
		}
		var (
			last  int64
			prev  *bluehelm.AuditEntry
			total int64
		)
		for i, st := range steps {
			e := entry(st.action)
			e.Actor = fmt.Sprintf("actor-%d", i)
			err := st.write(e)
			if st.fails != "" {
				wantCode(t, err, st.fails, st.action+" (meant to fail)")
			} else {
				must(t, err, st.action)
			}
			got, err := s.AuditLog(ctx, last, 100)
			must(t, err, "AuditLog")
			want := 1
			if st.fails != "" {
				want = 0 // a write that failed left no trace but its error
			}
			if len(got) != want {
				t.Fatalf("step %d %s: %d new audit entries, want %d", i, st.action, len(got), want)
			}
			if want == 0 {
				continue
			}
			g := got[0]
			if g.Seq != last+1 || g.Action != st.action || g.Actor != e.Actor || g.At.IsZero() || string(g.Detail) != string(e.Detail) {
				t.Errorf("step %d: entry {seq %d action %q actor %q at %v detail %s}, want {%d %q %q a time %s}",
					i, g.Seq, g.Action, g.Actor, g.At, g.Detail, last+1, st.action, e.Actor, e.Detail)
			}
			if st.objects != "" {
				id := strconv.FormatInt(idOf[st.objects](), 10)
				if !strings.Contains(g.Object, st.objects) || !strings.Contains(g.Object, id) {
					t.Errorf("step %d %s: object %q does not name %s %s", i, st.action, g.Object, st.objects, id)
				}
			}
			if st.action == "login.failed" && g.Object != "user/nobody" {
				t.Errorf("object %q given by the caller was replaced by %q", "user/nobody", g.Object)
			}
			checkLink(t, prev, g)
			prev, last, total = &g, g.Seq, total+1
		}
		n, err := s.VerifyAudit(ctx)
		if err != nil || n != total {
			t.Errorf("VerifyAudit = %d, %v; want %d, nil", n, err, total)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		const workers, each = 4, 8
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					var err error
					if i%2 == 0 {
						err = s.AppendAudit(ctx, entry("export"))
					} else {
						err = s.CreateIncident(ctx, newIncident(fmt.Sprintf("w%d-%d", w, i), t0, bluehelm.Point{Lon: 30, Lat: 7}, unclassified), entry("incident.create"))
					}
					if err != nil {
						t.Errorf("write: %v", err)
					}
				}
			})
		}
		wg.Wait()
		n, err := s.VerifyAudit(ctx)
		if err != nil || n != workers*each {
			t.Errorf("VerifyAudit after concurrent writes = %d, %v; want %d, nil", n, err, workers*each)
		}
	})

	t.Run("AuditLogPaging", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		for i := range 25 {
			e := entry("export")
			e.Object = fmt.Sprintf("export/%d", i)
			e.At = t0.Add(time.Duration(i) * time.Second)
			must(t, s.AppendAudit(ctx, e), "AppendAudit")
		}
		var all []bluehelm.AuditEntry
		for after := int64(0); ; {
			page, err := s.AuditLog(ctx, after, 10)
			must(t, err, "AuditLog")
			if len(page) > 10 {
				t.Fatalf("page of %d with limit 10", len(page))
			}
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			after = page[len(page)-1].Seq
		}
		if len(all) != 25 {
			t.Fatalf("%d entries paged, want 25", len(all))
		}
		var prev *bluehelm.AuditEntry
		for i, e := range all {
			if e.Seq != int64(i+1) || e.Object != fmt.Sprintf("export/%d", i) || !e.At.Equal(t0.Add(time.Duration(i)*time.Second)) {
				t.Errorf("entry %d: seq %d object %q at %v", i, e.Seq, e.Object, e.At)
			}
			checkLink(t, prev, e)
			prev = &all[i]
		}
		var detail map[string]string
		if err := json.Unmarshal(all[0].Detail, &detail); err != nil || detail["by"] != "storetest" {
			t.Errorf("detail %s did not round-trip (%v)", all[0].Detail, err)
		}
	})
}

// checkLink checks e is chained to prev and hashes to its stored hash.
func checkLink(t *testing.T, prev *bluehelm.AuditEntry, e bluehelm.AuditEntry) {
	t.Helper()
	wantPrev := ""
	if prev != nil {
		wantPrev = prev.Hash
	}
	if e.PrevHash != wantPrev {
		t.Errorf("entry %d: prev_hash %q, want %q", e.Seq, e.PrevHash, wantPrev)
	}
	if h := e.ComputeHash(); h != e.Hash {
		t.Errorf("entry %d: stored hash %q, computed %q", e.Seq, e.Hash, h)
	}
}
