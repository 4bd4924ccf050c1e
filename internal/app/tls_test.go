package app_test

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/config"
)

// TestTLSAcceptsOnlyModernAEADSuites serves HTTPS with the generated
// self-signed certificate and checks what a client may negotiate.
func TestTLSAcceptsOnlyModernAEADSuites(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Config: func(c *config.Config) { c.TLSSelfSigned = true }})
	addr := strings.TrimPrefix(s.URL, "https://")
	tests := []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.2 with AES-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.2 with ChaCha20-Poly1305", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305}}, true},
		{"TLS 1.2 with CBC only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}, false},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.InsecureSkipVerify = true // self-signed; the certificate is checked below
			conn, err := tls.Dial("tcp", addr, tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("handshake error %v, want success=%v", err, tt.ok)
			}
			if err == nil {
				state := conn.ConnectionState()
				if len(state.PeerCertificates) == 0 || state.PeerCertificates[0].VerifyHostname("127.0.0.1") != nil {
					t.Errorf("the self-signed certificate does not cover 127.0.0.1")
				}
				conn.Close()
			}
		})
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("over HTTPS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
}

// TestReadyzReportsAFailedDependency closes the bus under a running node:
// /readyz turns 503 and names it, /healthz stays 200.
func TestReadyzReportsAFailedDependency(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	if err := s.Bus.Close(); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, s.URL+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), `"bus":"unreachable"`) || !strings.Contains(string(body), `"database":"ok"`) {
		t.Fatalf("readyz: %d %s", status, body)
	}
	if status, _ := get(t, s.URL+"/healthz"); status != 200 {
		t.Fatalf("healthz: %d", status)
	}
}
