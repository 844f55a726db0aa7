package sms_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/sms"
)

const secret = "s3cret-shared-with-the-gateway"

var now = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// androidBody is an sms:received event in the app's documented shape.
const androidBody = `{"deviceId":"ffffffffceb0b1db00000193991c27e5","event":"sms:received","id":"Ey6ECgOkVVFjz3CL48B8C",` +
	`"payload":{"message":"Hommes armés à Bor","receivedAt":"2026-11-27T10:59:55.000+03:00","messageId":"abc","phoneNumber":"+211912345678","simNumber":1},` +
	`"webhookId":"LreFUt-Z3sSq0JufY9uWB"}`

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"1","from":"+211912345678","text":"hi"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		g      sms.Gateway
		secret string
		h      http.Header
		body   []byte
		ok     bool
	}{
		{"generic bearer", sms.Generic, secret, hdr("Authorization", "Bearer "+secret), body, true},
		{"generic wrong bearer", sms.Generic, secret, hdr("Authorization", "Bearer nope"), body, false},
		{"generic signature", sms.Generic, secret, hdr("X-Signature", "sha256="+hex.EncodeToString(sms.Sign(secret, body))), body, true},
		{"generic signature of another body", sms.Generic, secret, hdr("X-Signature", hex.EncodeToString(sms.Sign(secret, []byte("x")))), body, false},
		{"generic nothing", sms.Generic, secret, hdr(), body, false},
		{"no secret configured", sms.Generic, "", hdr("Authorization", "Bearer "), body, false},
		{"android signed", sms.Android, secret, hdr("X-Signature", sms.SignAndroid(secret, []byte(androidBody), ts), "X-Timestamp", ts), []byte(androidBody), true},
		{"android tampered body", sms.Android, secret, hdr("X-Signature", sms.SignAndroid(secret, []byte(androidBody), ts), "X-Timestamp", ts), []byte(androidBody + " "), false},
		{"android other timestamp", sms.Android, secret, hdr("X-Signature", sms.SignAndroid(secret, []byte(androidBody), ts), "X-Timestamp", strconv.FormatInt(now.Unix()+1, 10)), []byte(androidBody), false},
		{"android replayed late", sms.Android, secret, hdr("X-Signature", sms.SignAndroid(secret, []byte(androidBody), "1000"), "X-Timestamp", "1000"), []byte(androidBody), false},
		{"android no signature", sms.Android, secret, hdr("X-Timestamp", ts), []byte(androidBody), false},
		{"android bearer is not enough", sms.Android, secret, hdr("Authorization", "Bearer "+secret), []byte(androidBody), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sms.Verify(tt.g, tt.secret, tt.h, tt.body, now)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
				t.Errorf("code %q, want unauthenticated", bluehelm.ErrorCode(err))
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		g    sms.Gateway
		body string
		want sms.Message
		code string
	}{
		{"generic", sms.Generic, `{"id":"g1","from":"+211 912","text":"مسلحين في بور","received_at":"2026-11-27T07:59:00Z"}`,
			sms.Message{ID: "g1", From: "+211 912", Text: "مسلحين في بور", ReceivedAt: now.Add(-time.Minute)}, ""},
		{"generic no time", sms.Generic, `{"id":"g2","from":"1","text":"<b>x</b>"}`, sms.Message{ID: "g2", From: "1", Text: "<b>x</b>"}, ""},
		{"generic without text", sms.Generic, `{"id":"g3","from":"1"}`, sms.Message{}, bluehelm.EINVALID},
		{"generic unknown field", sms.Generic, `{"id":"g3","from":"1","text":"a","extra":1}`, sms.Message{}, bluehelm.EINVALID},
		{"generic bad time", sms.Generic, `{"text":"a","received_at":"yesterday"}`, sms.Message{}, bluehelm.EINVALID},
		{"android", sms.Android, androidBody,
			sms.Message{ID: "Ey6ECgOkVVFjz3CL48B8C", From: "+211912345678", Text: "Hommes armés à Bor", ReceivedAt: now.Add(-5 * time.Second)}, ""},
		{"android delivery report", sms.Android, `{"event":"sms:delivered","id":"x","payload":{}}`, sms.Message{}, bluehelm.EINVALID},
		{"android not json", sms.Android, `<xml/>`, sms.Message{}, bluehelm.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sms.Parse(tt.g, []byte(tt.body))
			if bluehelm.ErrorCode(err) != tt.code {
				t.Fatalf("Parse: %v, want code %q", err, tt.code)
			}
			if got != tt.want {
				t.Errorf("Parse = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := sms.Parse(sms.Android, []byte(`{"event":"system:ping","id":"p"}`)); err != sms.ErrIgnored {
		t.Errorf("a ping: %v, want ErrIgnored", err)
	}
}

func TestAndroidSender(t *testing.T) {
	var got struct {
		TextMessage  struct{ Text string } `json:"textMessage"`
		PhoneNumbers []string              `json:"phoneNumbers"`
	}
	var user, pass, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		path = r.URL.Path
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	s := &sms.AndroidSender{BaseURL: srv.URL, Username: "sms", Password: "pw"}
	if err := s.Send(context.Background(), "+211912345678", "Merci, message reçu"); err != nil {
		t.Fatal(err)
	}
	if path != "/message" || user != "sms" || pass != "pw" || got.TextMessage.Text != "Merci, message reçu" || len(got.PhoneNumbers) != 1 || got.PhoneNumbers[0] != "+211912345678" {
		t.Errorf("gateway got %s %s:%s %+v", path, user, pass, got)
	}
}
