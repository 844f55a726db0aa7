package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
	"github.com/bluehelm/bluehelm/cot"
)

// The whole onboarding path on the real wiring: a user enrolls a device with their
// password, the device connects over TLS with the certificate it got and reports
// its position, shares a file through the Marti API, and once revoked it cannot
// connect again.
func TestTAKOnboardingEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	a, err := openApp(ctx, storeFlags{data: dir}, missionFlags{}, newLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const password = "correct horse battery staple"
	u := &bluehelm.User{Username: "okello", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Unclassified}
	if err := a.auth.CreateUser(ctx, bluehelm.SystemPrincipal("test"), u, password); err != nil {
		t.Fatal(err)
	}
	tctx, stopTAK := context.WithCancel(ctx)
	rt, err := a.startTAK(tctx, takFlags{cotTLS: "127.0.0.1:0", martiAddr: "127.0.0.1:0", enrollAddr: "127.0.0.1:0",
		hosts: "127.0.0.1", labComponent: "military", labGroup: "lab"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stopTAK(); <-rt.done }()
	mission, err := ca.Load(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatalf("the CA was not created on first start: %v", err)
	}
	trust := &tls.Config{RootCAs: mission.Pool(), ServerName: "127.0.0.1"}

	// 1. Enrollment with username and password.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "okello"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "https://"+rt.addrs["enroll"]+"/Marti/api/tls/signClient/v2?clientUid=ANDROID-42&version=5.4.0",
		strings.NewReader(base64.StdEncoding.EncodeToString(csr)))
	req.SetBasicAuth("okello", password)
	req.Header.Set("Accept", "application/json")
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: trust}, Timeout: 10 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("enrollment: %d %s", resp.StatusCode, body)
	}
	var signed map[string]string
	if err := json.Unmarshal(body, &signed); err != nil {
		t.Fatalf("enrollment answer %s: %v", body, err)
	}
	der, err := base64.StdEncoding.DecodeString(signed["signedCert"])
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	devCfg := trust.Clone()
	devCfg.Certificates = []tls.Certificate{cert}

	// 2. The device connects over TLS and reports its position.
	conn, err := tls.Dial("tcp", rt.addrs["cot-tls"], devCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UTC()
	ev := &cot.Event{UID: "ANDROID-42", Type: "a-f-G-U-C", How: "m-g", Time: now, Start: now, Stale: now.Add(time.Minute),
		Point: cot.Point{Lat: 4.85, Lon: 31.6, HAE: cot.Unknown, CE: 10, LE: cot.Unknown}}
	ev.Detail.Contact = &cot.Contact{Callsign: "OKELLO", Endpoint: "*:-1:stcp"}
	ev.Detail.Takv = &cot.Takv{Platform: "ATAK-CIV", Version: "5.4.0"}
	if _, err := conn.Write(ev.AppendXML(nil)); err != nil {
		t.Fatal(err)
	}
	xr := cot.NewXMLReader(bufio.NewReader(conn), cot.MaxEventSize)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := xr.Next(); err != nil || !bytes.Contains(b, []byte(cot.TypeNegotiationOffer)) {
		t.Fatalf("first message from the server: %q, %v", b, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, ok := a.picture.Get("ANDROID-42")
		if ok {
			if st.Callsign != "OKELLO" || st.Component != bluehelm.Military {
				t.Errorf("track = %+v", st.Track)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the device's position never reached the picture")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// 3. It shares a photo through the Marti API with the same certificate.
	mc := &http.Client{Transport: &http.Transport{TLSClientConfig: devCfg}, Timeout: 10 * time.Second}
	resp, err = mc.Post("https://"+rt.addrs["marti"]+"/Marti/sync/upload?name=checkpoint.jpg&CreatorUid=ANDROID-42", "image/jpeg", strings.NewReader("not really a jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	atts, err := a.store.Attachments(ctx, bluehelm.AttachmentFilter{Viewer: bluehelm.SystemPrincipal("t")})
	if err != nil || len(atts) != 1 || atts[0].UploadedBy != "okello" {
		t.Fatalf("attachments = %+v, %v", atts, err)
	}

	// 4. Revoked from the command line, it cannot connect again.
	devs, err := a.store.Devices(ctx, u.ID)
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices of okello = %+v, %v", devs, err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"device", "revoke", devs[0].Name, "--reason", "lost", "--data", dir}, &out, &errOut); err != nil {
		t.Fatalf("device revoke: %v: %s", err, errOut.String())
	}
	again, err := tls.Dial("tcp", rt.addrs["cot-tls"], devCfg)
	if err == nil {
		again.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = again.Read(make([]byte, 1))
		again.Close()
	}
	if err == nil {
		t.Fatal("a revoked device was accepted")
	}
}
