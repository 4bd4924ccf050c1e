package access_test

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The tenant's named locations used throughout the tests.
var locations = []access.NamedLocation{
	{Name: "Tokyo office", Trusted: true, Ranges: prefixes("192.0.2.0/24", "2001:db8:1::/48")},
	{Name: "Osaka lab", Ranges: prefixes("198.51.100.0/25")},
	{Name: "Home VPN", Trusted: true, Ranges: prefixes("2001:db8:ffff::/64")},
}

// Addresses, by where they are.
var (
	tokyoV4   = netip.MustParseAddr("192.0.2.10")
	tokyoV6   = netip.MustParseAddr("2001:db8:1:2::10")
	tokyo4in6 = netip.MustParseAddr("::ffff:192.0.2.10")
	osaka     = netip.MustParseAddr("198.51.100.7")
	osakaOut  = netip.MustParseAddr("198.51.100.200") // just outside the /25
	vpnV6     = netip.MustParseAddr("2001:db8:ffff::42")
	elsewhere = netip.MustParseAddr("203.0.113.9")
	elseV6    = netip.MustParseAddr("2001:db8:2::1")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// member returns the Input of a member signing in from a browser at elsewhere
// with a password only.
func member(user string, roles ...principal.Role) access.Input {
	return access.Input{
		Tenant:    "t1",
		User:      ids.UserID(user),
		Kind:      principal.Member,
		Roles:     roles,
		Addr:      elsewhere,
		Client:    access.Browser,
		Satisfied: access.Factors{Password: true},
	}
}

// guest is member's counterpart for a guest.
func guest(user string, roles ...principal.Role) access.Input {
	in := member(user, roles...)
	in.Kind = principal.Guest
	return in
}

func at(in access.Input, addr netip.Addr) access.Input { in.Addr = addr; return in }

func with(in access.Input, f access.Factors) access.Input { in.Satisfied = f; return in }

func via(in access.Input, k access.ClientKind) access.Input { in.Client = k; return in }

// policy returns an enabled policy requiring MFA under conditions c.
func policy(id string, c access.Conditions) access.Policy {
	return access.Policy{ID: id, Name: "Policy " + id, State: access.Enabled, Conditions: c,
		Controls: access.Controls{RequireMFA: true}}
}

func users(u access.UserCondition) access.Conditions { return access.Conditions{Users: &u} }

func where(include []string, exclude ...string) access.Conditions {
	return access.Conditions{Locations: &access.LocationCondition{Include: include, Exclude: exclude}}
}

func names(n ...string) []string { return n }

func roles(r ...principal.Role) []principal.Role { return r }

func userIDs(u ...string) []ids.UserID {
	out := make([]ids.UserID, len(u))
	for i, s := range u {
		out[i] = ids.UserID(s)
	}
	return out
}

func hours(n int) access.Duration { return access.Duration(time.Duration(n) * time.Hour) }

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/identity/access -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date; run go test ./internal/identity/access -update and review the diff.\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// only evaluates one policy and returns its line of the trace.
func only(t *testing.T, p access.Policy, in access.Input) access.Result {
	t.Helper()
	d := access.Evaluate([]access.Policy{p}, locations, in)
	if d.Err != nil {
		t.Fatalf("Evaluate: %v", d.Err)
	}
	if len(d.Trace) != 1 {
		t.Fatalf("trace has %d results, want 1", len(d.Trace))
	}
	return d.Trace[0]
}
