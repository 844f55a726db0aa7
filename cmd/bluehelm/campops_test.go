package main

import (
	"strings"
	"testing"
	"time"
)

func TestEscalationFlagsCheck(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*escalationFlags)
		err    string // "" for valid
	}{
		{"defaults", func(*escalationFlags) {}, ""},
		{"fallback webhook", func(f *escalationFlags) { f.webhookURL = "https://gateway.example/hook" }, ""},
		{"webhook not http", func(f *escalationFlags) { f.webhookURL = "smtp://gateway" }, "--webhook-url"},
		{"webhook with a password", func(f *escalationFlags) { f.webhookURL = "https://u:p@gateway.example/" }, "--webhook-url"},
		{"escalation checked too often", func(f *escalationFlags) { f.escalateEvery = time.Millisecond }, "--escalate-every"},
		{"camp checks too often", func(f *escalationFlags) { f.checksEvery = time.Second }, "--camp-checks-every"},
	} {
		f := defaultEscalationFlags()
		c.change(&f)
		err := f.check()
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}
