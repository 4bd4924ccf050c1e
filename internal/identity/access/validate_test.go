package access_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// validPolicy returns a policy that passes Validate, for tests to break.
func validPolicy() access.Policy {
	return access.Policy{
		ID: "p1", Name: "Block outside office", State: access.Enabled,
		Conditions: access.Conditions{
			Users:       &access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeUsers: userIDs("breakglass")},
			Locations:   &access.LocationCondition{Include: names(access.AnyLocation), Exclude: names("Tokyo office")},
			ClientKinds: []access.ClientKind{access.Browser},
		},
		Controls: access.Controls{Block: true},
	}
}

func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, access.ErrInvalid) || errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if msg := errs.MessageOf(err); !strings.Contains(msg, want) {
		t.Fatalf("message %q does not mention %q", msg, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	many := func(n int) []ids.UserID {
		u := make([]ids.UserID, n)
		for i := range u {
			u[i] = ids.UserID(fmt.Sprintf("u%d", i))
		}
		return u
	}
	tests := []struct {
		name   string
		change func(p *access.Policy)
		want   string // "" for valid
	}{
		{"valid", func(p *access.Policy) {}, ""},
		{"valid without conditions", func(p *access.Policy) {
			p.Conditions = access.Conditions{}
			p.Controls = access.Controls{RequireMFA: true, SessionLifetime: hours(12)}
		}, ""},
		{"valid report-only", func(p *access.Policy) { p.State = access.ReportOnly }, ""},
		{"valid with the longest name", func(p *access.Policy) { p.Name = strings.Repeat("東", access.MaxNameLen) }, ""},
		{"valid at the user limit", func(p *access.Policy) { p.Conditions.Users.IncludeUsers = many(access.MaxUsers) }, ""},
		{"bad id", func(p *access.Policy) { p.ID = "p 1" }, "policy id"},
		{"empty id", func(p *access.Policy) { p.ID = "" }, "policy id"},
		{"empty name", func(p *access.Policy) { p.Name = "" }, "needs a name"},
		{"blank name", func(p *access.Policy) { p.Name = "   " }, "needs a name"},
		{"name with spaces around", func(p *access.Policy) { p.Name = " x" }, "starts or ends with a space"},
		{"name with a line break", func(p *access.Policy) { p.Name = "a\nb" }, "control character"},
		{"name too long", func(p *access.Policy) { p.Name = strings.Repeat("a", access.MaxNameLen+1) }, "at most 128 characters"},
		{"name not UTF-8", func(p *access.Policy) { p.Name = "\xff" }, "UTF-8"},
		{"no state", func(p *access.Policy) { p.State = "" }, "state must be"},
		{"unknown state", func(p *access.Policy) { p.State = "on" }, `not "on"`},
		{"unknown role", func(p *access.Policy) { p.Conditions.Users.IncludeRoles = roles("admin") }, `unknown role "admin"`},
		{"unknown excluded role", func(p *access.Policy) { p.Conditions.Users.ExcludeRoles = roles("owner") }, `users.exclude_roles: unknown role "owner"`},
		{"bad user id", func(p *access.Policy) { p.Conditions.Users.ExcludeUsers = userIDs("a/b") }, `"a/b" is not a user id`},
		{"too many users", func(p *access.Policy) { p.Conditions.Users.IncludeUsers = many(access.MaxUsers + 1) }, "at most 1000 users"},
		{"too many roles", func(p *access.Policy) {
			for range access.MaxRoles + 1 {
				p.Conditions.Users.IncludeRoles = append(p.Conditions.Users.IncludeRoles, principal.TenantAdmin)
			}
		}, "at most 32 roles"},
		{"users condition includes nobody", func(p *access.Policy) {
			p.Conditions.Users = &access.UserCondition{ExcludeUsers: userIDs("u1")}
		}, "includes nobody"},
		{"users condition excludes all", func(p *access.Policy) { p.Conditions.Users.ExcludeRoles = roles(access.AllUsers) }, "excludes everyone"},
		{"users condition excludes members and guests", func(p *access.Policy) {
			p.Conditions.Users.ExcludeRoles = roles(access.AllMembers, access.AllGuests)
		}, "excludes everyone"},
		{"locations condition includes nothing", func(p *access.Policy) {
			p.Conditions.Locations = &access.LocationCondition{Exclude: names("Tokyo office")}
		}, "includes no location"},
		{"excluding any", func(p *access.Policy) { p.Conditions.Locations.Exclude = names(access.AnyLocation) }, `excluding "any"`},
		{"empty location name", func(p *access.Policy) { p.Conditions.Locations.Include = names("") }, "locations.include: A named location needs a name"},
		{"unknown client kind", func(p *access.Policy) { p.Conditions.ClientKinds = []access.ClientKind{"fax"} }, `unknown client kind "fax"`},
		{"no controls", func(p *access.Policy) { p.Controls = access.Controls{} }, "has no controls"},
		{"block and MFA", func(p *access.Policy) { p.Controls.RequireMFA = true }, "block cannot be combined"},
		{"block and lifetime", func(p *access.Policy) { p.Controls.SessionLifetime = hours(1) }, "block cannot be combined"},
		{"both MFA kinds", func(p *access.Policy) {
			p.Controls = access.Controls{RequireMFA: true, RequirePhishingResistantMFA: true}
		}, "either require MFA or require a passkey"},
		{"lifetime too short", func(p *access.Policy) {
			p.Controls = access.Controls{SessionLifetime: access.Duration(time.Minute)}
		}, "between 5 minutes and 365 days, not 1 minute"},
		{"lifetime too long", func(p *access.Policy) { p.Controls = access.Controls{SessionLifetime: hours(24 * 400)} }, "not 400 days"},
		{"negative lifetime", func(p *access.Policy) { p.Controls = access.Controls{SessionLifetime: -hours(1)} }, "session lifetime must be between"},
		{"block everyone", func(p *access.Policy) { p.Conditions = access.Conditions{} }, "would block every sign-in"},
		{"block all users everywhere", func(p *access.Policy) {
			p.Conditions = access.Conditions{
				Users:     &access.UserCondition{IncludeRoles: roles(access.AllMembers, access.AllGuests)},
				Locations: &access.LocationCondition{Include: names(access.AnyLocation)},
			}
		}, "would block every sign-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPolicy()
			tt.change(&p)
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid policy refused: %v", err)
				}
				return
			}
			wantInvalid(t, err, tt.want)
		})
	}
}

func TestNamedLocationValidate(t *testing.T) {
	tooMany := make([]netip.Prefix, access.MaxRanges+1)
	for i := range tooMany {
		tooMany[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
	}
	tests := []struct {
		name string
		loc  access.NamedLocation
		want string
	}{
		{"valid v4 and v6", locations[0], ""},
		{"valid single addresses", access.NamedLocation{Name: "Gateway", Trusted: true, Ranges: prefixes("203.0.113.9/32", "2001:db8::1/128")}, ""},
		{"valid broad untrusted", access.NamedLocation{Name: "Half the internet", Ranges: prefixes("0.0.0.0/1")}, ""},
		{"valid at the limit", access.NamedLocation{Name: "Many", Ranges: tooMany[:access.MaxRanges]}, ""},
		{"empty name", access.NamedLocation{Ranges: prefixes("192.0.2.0/24")}, "needs a name"},
		{"reserved any", access.NamedLocation{Name: "Any", Ranges: prefixes("192.0.2.0/24")}, "reserved"},
		{"reserved all_trusted", access.NamedLocation{Name: "all_trusted", Ranges: prefixes("192.0.2.0/24")}, "reserved"},
		{"control character", access.NamedLocation{Name: "a\tb", Ranges: prefixes("192.0.2.0/24")}, "control character"},
		{"no ranges", access.NamedLocation{Name: "Empty"}, "at least one IP range"},
		{"too many ranges", access.NamedLocation{Name: "Many", Ranges: tooMany}, "at most 1000 IP ranges"},
		{"invalid prefix", access.NamedLocation{Name: "Zero", Ranges: []netip.Prefix{{}}}, "invalid IP range"},
		{"host bits set v4", access.NamedLocation{Name: "Sloppy", Ranges: prefixes("192.0.2.1/24")}, "did you mean 192.0.2.0/24"},
		{"host bits set v6", access.NamedLocation{Name: "Sloppy", Ranges: prefixes("2001:db8::1/64")}, "did you mean 2001:db8::/64"},
		{"IPv4-mapped", access.NamedLocation{Name: "Mapped", Ranges: prefixes("::ffff:192.0.2.0/120")}, "as an IPv4 range"},
		{"every IPv4 address", access.NamedLocation{Name: "All", Ranges: prefixes("0.0.0.0/0")}, `use the location "any"`},
		{"every IPv6 address", access.NamedLocation{Name: "All", Ranges: prefixes("::/0")}, `use the location "any"`},
		{"trusted too broad v4", access.NamedLocation{Name: "Wide", Trusted: true, Ranges: prefixes("10.0.0.0/7")}, "too broad to be trusted"},
		{"trusted too broad v6", access.NamedLocation{Name: "Wide", Trusted: true, Ranges: prefixes("2001:d00::/24")}, "too broad to be trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.loc.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid location refused: %v", err)
				}
				return
			}
			wantInvalid(t, err, tt.want)
		})
	}
}

func TestValidateSet(t *testing.T) {
	manyPolicies := func(n int) []access.Policy {
		ps := make([]access.Policy, n)
		for i := range ps {
			ps[i] = policy(fmt.Sprintf("p%d", i), access.Conditions{})
		}
		return ps
	}
	manyLocations := func(n, ranges int) []access.NamedLocation {
		ls := make([]access.NamedLocation, n)
		for i := range ls {
			ls[i] = access.NamedLocation{Name: fmt.Sprintf("L%d", i)}
			for j := range ranges {
				ls[i].Ranges = append(ls[i].Ranges, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(j >> 8), byte(j)}), 32))
			}
		}
		return ls
	}
	tests := []struct {
		name      string
		policies  []access.Policy
		locations []access.NamedLocation
		want      string
	}{
		{"valid", tenantPolicies()[:7], locations, ""},
		{"valid at the limits", manyPolicies(access.MaxPolicies), manyLocations(10, 1000), ""},
		{"missing location", tenantPolicies(), locations, `refers to the named location "Gone", which does not exist`},
		{"missing excluded location", []access.Policy{validPolicy()}, locations[1:], `"Tokyo office", which does not exist`},
		{"duplicate policy id", []access.Policy{policy("p1", access.Conditions{}), policy("p1", access.Conditions{})}, nil, `same id "p1"`},
		{"location names differ in case", nil, []access.NamedLocation{locations[0], {Name: "TOKYO OFFICE", Ranges: prefixes("192.0.2.0/24")}}, "differ only in case"},
		{"invalid policy", []access.Policy{{ID: "x", Name: "x", State: access.Enabled}}, nil, "has no controls"},
		{"invalid location", nil, []access.NamedLocation{{Name: "x"}}, "at least one IP range"},
		{"too many policies", manyPolicies(access.MaxPolicies + 1), nil, "at most 200 conditional access policies"},
		{"too many locations", nil, manyLocations(access.MaxLocations+1, 1), "at most 200 named locations"},
		{"too many ranges in all", nil, manyLocations(11, 1000), "at most 10000 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := access.ValidateSet(tt.policies, tt.locations)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid set refused: %v", err)
				}
				return
			}
			wantInvalid(t, err, tt.want)
		})
	}
}

// TestBenchmarkSetIsValid keeps the benchmark honest: it measures policies
// the service would accept.
func TestBenchmarkSetIsValid(t *testing.T) {
	if err := access.ValidateSet(benchPolicies(50), benchLocations(20)); err != nil {
		t.Fatal(err)
	}
}
