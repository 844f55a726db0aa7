package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/auth"
	"github.com/bluehelm/bluehelm/sqlite"
)

func TestPasswords(t *testing.T) {
	h, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := auth.HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password must differ (salt)")
	}
	for _, c := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{"argon2id$1$1$1$AAAA$AAAA", "x", false},
		{"plain", "plain", false},
	} {
		if got := auth.VerifyPassword(c.hash, c.pw); got != c.want {
			t.Errorf("VerifyPassword(%q, %q) = %v", c.hash, c.pw, got)
		}
	}
	if _, err := auth.HashPassword("short"); bluehelm.ErrorField(err) != "password" {
		t.Fatalf("short password: %v", err)
	}
}

func TestTokensAndSessions(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	svc := &auth.Service{Store: store, Now: func() time.Time { return now }}
	sys := bluehelm.SystemPrincipal("test")
	u := &bluehelm.User{Username: "joc", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	if err := svc.CreateUser(ctx, sys, u, "a long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateUser(ctx, u.Principal(), &bluehelm.User{Username: "x", Role: bluehelm.RoleAdmin, Component: bluehelm.Support}, "a long enough password"); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("non-admin creating a user: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "joc", "wrong password!!"); bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "nobody", "a long enough password"); bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
		t.Fatalf("unknown user: %v", err)
	}
	if got, err := svc.Authenticate(ctx, " JOC ", "a long enough password"); err != nil || got.ID != u.ID {
		t.Fatalf("login: %v", err)
	}
	secret, _, err := svc.IssueToken(ctx, u.Principal(), u.ID, "QGIS", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := svc.TokenUser(ctx, secret); err != nil || got.ID != u.ID {
		t.Fatalf("token: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := svc.TokenUser(ctx, secret); bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
		t.Fatalf("expired token: %v", err)
	}
	cookie, _, err := svc.NewSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := svc.SessionUser(ctx, cookie); err != nil || got.ID != u.ID {
		t.Fatalf("session: %v", err)
	}
	u.Disabled = true
	if err := svc.UpdateUser(ctx, sys, u, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SessionUser(ctx, cookie); bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
		t.Fatalf("disabled user's session: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "joc", "a long enough password"); bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
		t.Fatalf("disabled user's login: %v", err)
	}
}
