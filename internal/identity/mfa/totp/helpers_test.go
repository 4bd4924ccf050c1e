package totp

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const noOathtool = "oathtool not found, so TOTP codes are not checked against an independent implementation; install the Debian package oathtool"

var warnOnce sync.Once

// oathtool returns the TOTP code of the base32 secret at time at, computed
// by oathtool (OATH Toolkit), an implementation independent of ours. Without
// oathtool the test fails under CI=true and is skipped, loudly, otherwise.
func oathtool(t *testing.T, secretB32 string, at time.Time) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("oathtool is required under CI=true (Debian package oathtool): %v", err)
		}
		// go test hides t.Skip messages without -v; say it on stderr too.
		warnOnce.Do(func() { fmt.Fprintln(os.Stderr, "WARNING: "+noOathtool) })
		t.Skip("SKIPPED: " + noOathtool)
	}
	// "@<unix seconds>" is read by oathtool's date parser as an exact instant.
	cmd := exec.CommandContext(t.Context(), path, "--totp", "--base32", "--digits=6", "--time-step-size=30s",
		"--now", "@"+strconv.FormatInt(at.Unix(), 10), secretB32)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	code := strings.TrimSpace(string(out))
	if len(code) != Digits {
		t.Fatalf("oathtool printed %q, want %d digits", code, Digits)
	}
	return code
}

// mustSecret returns a fresh secret.
func mustSecret(t *testing.T) Secret {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fullWidth rewrites ASCII digits as full-width digits.
func fullWidth(code string) string {
	var b strings.Builder
	for _, r := range code {
		if r >= '0' && r <= '9' {
			r = '０' + (r - '0')
		}
		b.WriteRune(r)
	}
	return b.String()
}
