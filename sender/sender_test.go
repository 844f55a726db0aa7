package sender_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bluehelm/bluehelm/sender"
)

func testKeys(t *testing.T, b byte) *sender.Keys {
	t.Helper()
	k, err := sender.New(bytes.Repeat([]byte{b}, sender.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+211 912 345 678", "+211912345678", true},
		{"00211-912-345-678", "+211912345678", true},
		{"(0912) 345.678", "0912345678", true},
		{"+12", "", false},
		{"912345678x", "", false},
		{"91+2345678", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := sender.Normalize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestPseudonymAndSeal(t *testing.T) {
	k := testKeys(t, 1)
	p1, s1, err := k.Protect("+211 912 345 678")
	if err != nil {
		t.Fatal(err)
	}
	p2, s2, _ := k.Protect("00211912345678")
	if p1 != p2 {
		t.Error("the same number written two ways has two pseudonyms")
	}
	if bytes.Equal(s1, s2) {
		t.Error("two seals of one number are equal: the nonce is not random")
	}
	if p3, _, _ := k.Protect("+211912345679"); p3 == p1 {
		t.Error("two numbers share a pseudonym")
	}
	if other, _, _ := testKeys(t, 2).Protect("+211912345678"); other == p1 {
		t.Error("the pseudonym does not depend on the key")
	}
	if bytes.Contains(s1, []byte("912345678")) {
		t.Error("the sealed number contains the number")
	}
	got, err := k.Open(s1)
	if err != nil || got != "+211912345678" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := testKeys(t, 2).Open(s1); err == nil {
		t.Error("another key opened the seal")
	}
	s1[len(s1)-1] ^= 1
	if _, err := k.Open(s1); err == nil {
		t.Error("a tampered seal opened")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sender.key")
	k1, err := sender.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	k2, err := sender.LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reloading the key file: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.LoadOrCreateKeyFile(path); err == nil {
		t.Error("a world-readable key file was accepted")
	}
	if _, err := sender.ParseKey("abcd"); err == nil {
		t.Error("a short key was accepted")
	}
}
