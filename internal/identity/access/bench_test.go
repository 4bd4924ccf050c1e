package access_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/principal"
)

// benchLocations returns n named locations of ten IPv4 and ten IPv6 ranges
// each; every third is trusted.
func benchLocations(n int) []access.NamedLocation {
	locs := make([]access.NamedLocation, n)
	for i := range locs {
		l := access.NamedLocation{Name: fmt.Sprintf("Site %02d", i), Trusted: i%3 == 0}
		for j := range 10 {
			l.Ranges = append(l.Ranges,
				netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", i, j)),
				netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x:%x::/64", i, j)))
		}
		locs[i] = l
	}
	return locs
}

// benchPolicies returns n valid, enabled policies of every shape: user,
// role, location (named, trusted, excluded) and client kind conditions,
// with each kind of control.
func benchPolicies(n int) []access.Policy {
	ps := make([]access.Policy, n)
	for i := range ps {
		p := access.Policy{ID: fmt.Sprintf("p%02d", i), Name: fmt.Sprintf("Policy %02d", i), State: access.Enabled}
		switch i % 5 {
		case 0:
			p.Conditions.Users = &access.UserCondition{IncludeRoles: roles(principal.TenantAdmin), ExcludeUsers: userIDs("breakglass")}
			p.Controls.RequirePhishingResistantMFA = true
		case 1:
			p.Conditions.Locations = &access.LocationCondition{Include: names(access.AnyLocation), Exclude: names(access.AllTrusted)}
			p.Conditions.Users = &access.UserCondition{IncludeRoles: roles(access.AllGuests)}
			p.Controls.Block = true
		case 2:
			p.Conditions.Locations = &access.LocationCondition{Include: names(fmt.Sprintf("Site %02d", i%20), fmt.Sprintf("Site %02d", (i+7)%20))}
			p.Controls.RequireMFA = true
		case 3:
			p.Conditions.ClientKinds = []access.ClientKind{access.APIToken}
			p.Controls.SessionLifetime = hours(24)
		case 4:
			p.Conditions.Users = &access.UserCondition{IncludeUsers: userIDs("u1", "u2", "u3"), IncludeRoles: roles(access.AllMembers)}
			p.Conditions.Locations = &access.LocationCondition{Include: names(access.AllTrusted), Exclude: names(fmt.Sprintf("Site %02d", i%20))}
			p.Controls.SessionLifetime = hours(8 + i)
			if i%2 == 0 {
				p.State = access.ReportOnly
			}
		}
		ps[i] = p
	}
	return ps
}

func BenchmarkEvaluate(b *testing.B) {
	ps := benchPolicies(50)
	locs := benchLocations(20)
	if err := access.ValidateSet(ps, locs); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		addr netip.Addr
	}{
		{"ipv4 in a trusted site", netip.MustParseAddr("10.3.9.1")},
		{"ipv6 in an untrusted site", netip.MustParseAddr("2001:db8:13:4::1")},
		{"outside every site", netip.MustParseAddr("203.0.113.9")},
	} {
		in := at(member("u2", principal.TenantAdmin), bc.addr)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := access.Evaluate(ps, locs, in); d.Err != nil {
					b.Fatal(d.Err)
				}
			}
		})
	}
}
