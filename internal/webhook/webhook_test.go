package webhook_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/webhook"
)

// TestSignAndVerify: a delivery verifies with its secret and timestamp;
// another secret, a changed body or an old timestamp fails.
func TestSignAndVerify(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"n":1}`)
	sig := webhook.Sign([]byte("s3cret"), ts, body)
	if err := webhook.Verify([]byte("s3cret"), ts, sig, body, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]error{
		"another secret": webhook.Verify([]byte("other"), ts, sig, body, now, time.Minute),
		"changed body":   webhook.Verify([]byte("s3cret"), ts, sig, []byte(`{"n":2}`), now, time.Minute),
		"replayed later": webhook.Verify([]byte("s3cret"), ts, sig, body, now.Add(time.Hour), time.Minute),
		"bad timestamp":  webhook.Verify([]byte("s3cret"), "yesterday", sig, body, now, time.Minute),
	} {
		if check == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// TestGuardKeepsDeliveriesOffThisMachine: loopback, link-local (metadata
// services), unspecified and multicast addresses are refused by name and at
// connection time, and plain http too, unless loopback is allowed (tests).
func TestGuardKeepsDeliveriesOffThisMachine(t *testing.T) {
	var g webhook.Guard
	for _, bad := range []string{"http://example.com/hook", "https://localhost/hook", "https://127.0.0.1/hook", "https://[::1]/hook",
		"https://169.254.169.254/latest", "https://0.0.0.0/x", "https://user:pw@example.com/x", "https://example.com/x#frag", "ftp://example.com"} {
		if err := g.CheckURL(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if err := g.CheckURL("https://siem.example.com/kaigi"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if c, err := g.Dialer(time.Second).Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("dialled this machine")
	}
	g.AllowLoopback(true)
	if err := g.CheckURL("http://127.0.0.1:8080/hook"); err != nil {
		t.Fatalf("loopback allowed: %v", err)
	}
	c, err := g.Dialer(time.Second).Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("loopback allowed, dial: %v", err)
	}
	c.Close()
	if err := g.CheckURL("https://169.254.169.254/latest"); err == nil {
		t.Fatal("link-local allowed with loopback")
	}
	if err := g.CheckURL("http://example.com/hook"); err == nil {
		t.Fatal("plain http to another host allowed with loopback")
	}
}
