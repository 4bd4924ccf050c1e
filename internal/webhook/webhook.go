// Package webhook holds what every outgoing delivery of Kaigi shares — the
// audit log's SIEM sinks, the transparency log's subscribers, subprocessor
// notices: the signature receivers check, and the guard that keeps
// deliveries away from this machine and its neighbours.
//
// A delivery is signed with HMAC-SHA256 under a secret Kaigi generates and
// shows once: the header X-Kaigi-Signature is "v1=" and the hex HMAC of the
// timestamp (X-Kaigi-Timestamp, Unix seconds), a dot and the body.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
)

// The headers of a signed delivery.
const (
	HeaderTimestamp = "X-Kaigi-Timestamp"
	HeaderSignature = "X-Kaigi-Signature" // "v1=" hex(HMAC-SHA256(secret, timestamp + "." + body))
)

// Sign returns the signature header's value for a body sent at ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature, in constant time, and that its
// timestamp is within tolerance of now (a replay of an old delivery fails).
func Verify(secret []byte, ts, sig string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp outside the tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig)) {
		return errors.New("webhook: signature does not match")
	}
	return nil
}

// Guard decides which endpoints deliveries may reach: never this machine
// (loopback), link-local addresses (cloud metadata services) or unspecified
// and multicast ones — unless loopback is allowed, for tests against local
// servers. It checks names when an endpoint is configured and addresses
// again when connecting, since a name may resolve to anything.
type Guard struct {
	loopback atomic.Bool
}

// AllowLoopback lets deliveries reach this machine (and plain http there).
// For tests only.
func (g *Guard) AllowLoopback(on bool) { g.loopback.Store(on) }

// LoopbackAllowed reports whether AllowLoopback is on.
func (g *Guard) LoopbackAllowed() bool { return g.loopback.Load() }

// CheckIP refuses the addresses deliveries never reach.
func (g *Guard) CheckIP(ip net.IP) error {
	if ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || (ip.IsLoopback() && !g.loopback.Load()) {
		return errors.New("forbidden address")
	}
	return nil
}

// CheckHost refuses a host name or address deliveries never reach.
func (g *Guard) CheckHost(host string) error {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		if !g.loopback.Load() {
			return errs.E(errs.Invalid, "The endpoint cannot be this machine.")
		}
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && g.CheckIP(ip) != nil {
		return errs.E(errs.Invalid, "The endpoint cannot be that address.")
	}
	return nil
}

// CheckURL accepts an https:// URL without user name or fragment whose host
// passes CheckHost (plain http only to loopback, when allowed).
func (g *Guard) CheckURL(endpoint string) error {
	if len(endpoint) > 900 {
		return errs.E(errs.Invalid, "The webhook URL is too long.")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" || (u.Scheme != "https" && !(u.Scheme == "http" && g.loopback.Load() && isLoopback(u.Hostname()))) {
		return errs.E(errs.Invalid, "A webhook's endpoint must be an https:// URL without user name or fragment.")
	}
	return g.CheckHost(u.Hostname())
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Dialer refuses, at connection time, the addresses CheckIP refuses.
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || g.CheckIP(ip) != nil {
			return fmt.Errorf("refusing to connect to %s", host)
		}
		return nil
	}}
}

// Client returns an HTTP client for deliveries: it connects only where the
// guard allows, follows no redirects (a receiver cannot send a delivery on
// to another address), and trusts tlsConfig's roots (nil: the system's).
func (g *Guard) Client(timeout time.Duration, tlsConfig *tls.Config) *http.Client {
	return &http.Client{Timeout: timeout,
		Transport:     &http.Transport{DialContext: g.Dialer(timeout).DialContext, TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true, TLSHandshakeTimeout: timeout},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Post delivers a JSON body to endpoint, signed with secret at now, and
// fails unless the receiver answers 2xx. The answer's body is read (up to
// 64 KiB) so that the connection can be reused.
func Post(ctx context.Context, client *http.Client, endpoint, userAgent string, secret []byte, now time.Time, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}
