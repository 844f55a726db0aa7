// Package sms reads the webhook calls of SMS gateways that forward the text messages a
// mission's community alert number receives, checks that a call comes from the gateway
// (a shared secret), and sends acknowledgements back through a gateway that can send.
//
// Two forms are understood:
//
//   - Generic, for any gateway or script that can POST JSON:
//     {"id": "…", "from": "+211…", "text": "…", "received_at": "2026-11-27T08:00:00Z"},
//     authenticated by "Authorization: Bearer <secret>" or by "X-Signature: <hex
//     HMAC-SHA256 of the body with the secret>" (optionally prefixed "sha256="). The
//     acknowledgement, if any, is returned in the response ({"reply": "…"}) for the
//     gateway to send.
//
//   - SMS Gateway for Android (the open-source app at github.com/capcom6/android-sms-gateway,
//     docs.sms-gate.app/features/webhooks). Its "sms:received" event is a JSON envelope
//     {"deviceId", "event", "id", "webhookId", "payload": {"messageId", "message",
//     "phoneNumber", "simNumber", "receivedAt"}}, signed with the webhook's signing key:
//     header X-Signature is the hex HMAC-SHA256 of the raw body followed by the value of
//     header X-Timestamp (unix seconds). The payload's messageId is derived from the
//     content and, by the app's own documentation, not unique, so the envelope's "id"
//     (one per event, the same on a redelivery) is the idempotency key. Replies go out
//     through the app's local server API (POST {base}/message with basic auth and
//     {"textMessage": {"text"}, "phoneNumbers": [...]}).
package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Message is one received SMS, whatever the gateway.
type Message struct {
	ID         string    // the gateway's id of the message or event ("" if it gives none)
	From       string    // the sender's number, as the gateway wrote it
	Text       string    // as received
	ReceivedAt time.Time // zero: not given
}

// ErrIgnored is returned for a well-formed call about something other than a received
// SMS (a delivery report, a ping): the caller answers 200 and stores nothing.
var ErrIgnored = bluehelm.Errorf(bluehelm.EINVALID, "not a received SMS event; ignored")

// Gateway names a webhook form.
type Gateway string

const (
	Generic Gateway = "generic"
	Android Gateway = "android" // SMS Gateway for Android
)

// MaxSkew is how far an Android gateway call's X-Timestamp may be from now: a captured
// call cannot be replayed later.
const MaxSkew = 5 * time.Minute

func unauthenticated(format string, args ...any) error {
	return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, format, args...)
}

// Verify checks that a call to the gateway's webhook carries the shared secret. An empty
// secret refuses every call: an intake without a secret would take anyone's messages.
func Verify(g Gateway, secret string, h http.Header, body []byte, now time.Time) error {
	if secret == "" {
		return unauthenticated("this SMS gateway has no shared secret configured; calls are refused")
	}
	switch g {
	case Generic:
		if auth := h.Get("Authorization"); auth != "" {
			tok, ok := strings.CutPrefix(auth, "Bearer ")
			if ok && hmac.Equal([]byte(tok), []byte(secret)) {
				return nil
			}
			return unauthenticated("wrong gateway secret")
		}
		if sig := h.Get("X-Signature"); sig != "" {
			return checkMAC(secret, strings.TrimPrefix(sig, "sha256="), body)
		}
		return unauthenticated("missing gateway secret (Authorization: Bearer or X-Signature)")
	case Android:
		sig, ts := h.Get("X-Signature"), h.Get("X-Timestamp")
		if sig == "" || ts == "" {
			return unauthenticated("missing X-Signature or X-Timestamp")
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return unauthenticated("X-Timestamp is not unix seconds")
		}
		if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
			return unauthenticated("X-Timestamp is %s away from now (at most %s)", d.Round(time.Second), MaxSkew)
		}
		return checkMAC(secret, sig, append(body[:len(body):len(body)], ts...))
	}
	return bluehelm.Errorf(bluehelm.ENOTFOUND, "unknown SMS gateway %q", g)
}

func checkMAC(secret, sigHex string, signed []byte) error {
	got, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil {
		return unauthenticated("signature is not hex")
	}
	if !hmac.Equal(got, Sign(secret, signed)) {
		return unauthenticated("signature does not match")
	}
	return nil
}

// Sign returns the HMAC-SHA256 of data with secret (what a gateway puts, in hex, in
// X-Signature).
func Sign(secret string, data []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(data)
	return m.Sum(nil)
}

// SignAndroid returns the X-Signature an Android gateway sends for body at timestamp ts.
func SignAndroid(secret string, body []byte, ts string) string {
	return hex.EncodeToString(Sign(secret, append(body[:len(body):len(body)], ts...)))
}

// Parse decodes a webhook body of gateway g.
func Parse(g Gateway, body []byte) (Message, error) {
	switch g {
	case Generic:
		var in struct {
			ID         string  `json:"id"`
			From       string  `json:"from"`
			Text       *string `json:"text"`
			ReceivedAt string  `json:"received_at"`
		}
		if err := strictJSON(body, &in); err != nil {
			return Message{}, err
		}
		if in.Text == nil {
			return Message{}, bluehelm.Invalid("text", "is required")
		}
		m := Message{ID: in.ID, From: in.From, Text: *in.Text}
		var err error
		if m.ReceivedAt, err = parseTime("received_at", in.ReceivedAt); err != nil {
			return Message{}, err
		}
		return m, nil
	case Android:
		var in struct {
			DeviceID  string `json:"deviceId"`
			Event     string `json:"event"`
			ID        string `json:"id"`
			WebhookID string `json:"webhookId"`
			Payload   struct {
				MessageID   string          `json:"messageId"`
				Message     *string         `json:"message"`
				PhoneNumber string          `json:"phoneNumber"`
				SimNumber   json.RawMessage `json:"simNumber"`
				ReceivedAt  string          `json:"receivedAt"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return Message{}, bluehelm.Invalid("", "body is not the gateway's JSON: %v", err)
		}
		if in.Event != "sms:received" {
			return Message{}, ErrIgnored
		}
		if in.Payload.Message == nil {
			return Message{}, bluehelm.Invalid("payload.message", "is required")
		}
		id := in.ID
		if id == "" { // older app versions: fall back to the device and message ids
			id = in.DeviceID + "/" + in.Payload.MessageID
		}
		m := Message{ID: id, From: in.Payload.PhoneNumber, Text: *in.Payload.Message}
		var err error
		if m.ReceivedAt, err = parseTime("payload.receivedAt", in.Payload.ReceivedAt); err != nil {
			return Message{}, err
		}
		return m, nil
	}
	return Message{}, bluehelm.Errorf(bluehelm.ENOTFOUND, "unknown SMS gateway %q", g)
}

func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bluehelm.Invalid("", "body is not the generic SMS JSON ({\"id\",\"from\",\"text\",\"received_at\"}): %v", err)
	}
	return nil
}

// parseTime reads an RFC 3339 time (the Android app writes its local offset, e.g.
// "2025-03-14T07:29:55.000+07:00"); "" is the zero time.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, bluehelm.Invalid(field, "is not an RFC 3339 time")
	}
	return t.UTC(), nil
}

// AndroidSender sends SMS through an SMS Gateway for Android local server.
type AndroidSender struct {
	BaseURL  string // e.g. "http://192.168.1.20:8080"
	Username string
	Password string
	Client   *http.Client // nil: a client with a 10 s timeout
}

// Send asks the gateway to send text to number.
func (s *AndroidSender) Send(ctx context.Context, number, text string) error {
	body, err := json.Marshal(map[string]any{
		"textMessage":  map[string]string{"text": text},
		"phoneNumbers": []string{number},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.BaseURL, "/")+"/message", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(s.Username, s.Password)
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("sms: sending through the gateway: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms: the gateway answered %s", resp.Status)
	}
	return nil
}
