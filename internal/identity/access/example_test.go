package access_test

import (
	"fmt"
	"net/netip"

	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

func ExampleEvaluate() {
	office := access.NamedLocation{
		Name:    "Tokyo office",
		Trusted: true,
		Ranges:  []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:1::/48")},
	}
	policies := []access.Policy{
		{
			ID: "block-outside", Name: "Block outside office", State: access.Enabled,
			Conditions: access.Conditions{
				Users:     &access.UserCondition{IncludeRoles: []principal.Role{access.AllUsers}, ExcludeUsers: []ids.UserID{"breakglass"}},
				Locations: &access.LocationCondition{Include: []string{access.AnyLocation}, Exclude: []string{"Tokyo office"}},
			},
			Controls: access.Controls{Block: true},
		},
		{
			ID: "mfa-admins", Name: "MFA for admins", State: access.Enabled,
			Conditions: access.Conditions{Users: &access.UserCondition{IncludeRoles: []principal.Role{principal.TenantAdmin}}},
			Controls:   access.Controls{RequireMFA: true},
		},
	}
	in := access.Input{
		Tenant: "t1", User: "u1", Kind: principal.Member, Roles: []principal.Role{principal.TenantAdmin},
		Addr: netip.MustParseAddr("203.0.113.9"), Client: access.Browser,
		Satisfied: access.Factors{Password: true},
	}
	d := access.Evaluate(policies, []access.NamedLocation{office}, in)
	fmt.Println(d.Outcome)
	fmt.Println(d)

	in.Addr = netip.MustParseAddr("2001:db8:1::7")
	fmt.Println(access.Evaluate(policies, []access.NamedLocation{office}, in).Outcome)
	// Output:
	// block
	// Access is blocked.
	// "Block outside office" applied: all users are included; the address 203.0.113.9 is not in the named location "Tokyo office". It blocks access.
	// "MFA for admins" applied: the user holds role tenant_admin. It requires MFA (not yet satisfied).
	// needs_mfa
}
