package access_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/principal"
)

func TestLockoutCheck(t *testing.T) {
	blockOutside := access.Policy{ID: "p1", Name: "Block outside office", State: access.Enabled,
		Conditions: access.Conditions{
			Users:     &access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeUsers: userIDs("breakglass")},
			Locations: &access.LocationCondition{Include: names(access.AnyLocation), Exclude: names(access.AllTrusted)},
		},
		Controls: access.Controls{Block: true}}
	blockAPI := access.Policy{ID: "p2", Name: "No API tokens", State: access.Enabled,
		Conditions: access.Conditions{ClientKinds: []access.ClientKind{access.APIToken}}, Controls: access.Controls{Block: true}}
	passkeyAdmins := access.Policy{ID: "p3", Name: "Passkeys for admins", State: access.Enabled,
		Conditions: users(access.UserCondition{IncludeRoles: roles(principal.TenantAdmin)}),
		Controls:   access.Controls{RequirePhishingResistantMFA: true}}
	mfaAll := access.Policy{ID: "p4", Name: "MFA for all", State: access.Enabled,
		Controls: access.Controls{RequireMFA: true}}
	reportOnly := func(p access.Policy) access.Policy { p.State = access.ReportOnly; return p }
	renamed := func(p access.Policy, id, name string) access.Policy { p.ID, p.Name = id, name; return p }

	admin := member("a1", principal.TenantAdmin)
	enrolled := access.Factors{Password: true, MFA: true, Passkey: true}
	tests := []struct {
		name     string
		policies []access.Policy
		admin    access.Input
		want     []string // substrings of the message; nil for no lockout
	}{
		{"no policies", nil, admin, nil},
		{"admin in a trusted location", []access.Policy{blockOutside}, with(at(admin, tokyoV4), enrolled), nil},
		{"admin outside", []access.Policy{blockOutside}, with(admin, enrolled),
			[]string{`from your current address 203.0.113.9`, `the policy "Block outside office" would block your sign-in`}},
		{"admin outside over IPv4-mapped IPv6", []access.Policy{blockOutside}, with(at(admin, netip.MustParseAddr("::ffff:203.0.113.9")), enrolled),
			[]string{`address 203.0.113.9,`}},
		{"two policies block", []access.Policy{blockOutside, renamed(blockOutside, "p9", "Also block")}, with(admin, enrolled),
			[]string{`the policies "Block outside office" and "Also block" would block`}},
		{"break-glass admin excluded", []access.Policy{blockOutside}, with(member("breakglass", principal.TenantAdmin), enrolled), nil},
		{"report-only does not lock out", []access.Policy{reportOnly(blockOutside)}, with(admin, enrolled), nil},
		{"disabled does not lock out", []access.Policy{{ID: "x", Name: "x", State: access.Disabled, Controls: access.Controls{Block: true}}}, with(admin, enrolled), nil},
		{"block of another client kind", []access.Policy{blockAPI}, with(admin, enrolled), nil},
		{"passkey required, enrolled", []access.Policy{passkeyAdmins, mfaAll}, with(admin, enrolled), nil},
		{"passkey required, not enrolled", []access.Policy{passkeyAdmins, mfaAll}, with(admin, access.Factors{Password: true, MFA: true}),
			[]string{`the policy "Passkeys for admins" would require a passkey, which you have not set up`}},
		{"MFA required, not enrolled", []access.Policy{mfaAll}, admin,
			[]string{`the policy "MFA for all" would require a second factor`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := access.LockoutCheck(tt.policies, locations, tt.admin)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected lockout: %v", err)
				}
				return
			}
			if !errors.Is(err, access.ErrLockout) || errs.CodeOf(err) != errs.Conflict {
				t.Fatalf("err = %v, want ErrLockout", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs.MessageOf(err), w) {
					t.Errorf("message %q does not mention %q", errs.MessageOf(err), w)
				}
			}
		})
	}

	t.Run("deleting the excluded location locks the admin out", func(t *testing.T) {
		p := blockOutside
		p.Conditions.Locations = &access.LocationCondition{Include: names(access.AnyLocation), Exclude: names("Tokyo office")}
		if err := access.LockoutCheck([]access.Policy{p}, locations, with(at(admin, tokyoV4), enrolled)); err != nil {
			t.Fatalf("with the location: %v", err)
		}
		if err := access.LockoutCheck([]access.Policy{p}, locations[1:], with(at(admin, tokyoV4), enrolled)); !errors.Is(err, access.ErrLockout) {
			t.Fatalf("without the location: err = %v, want ErrLockout", err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		err := access.LockoutCheck(nil, locations, at(admin, netip.Addr{}))
		if !errors.Is(err, access.ErrBadInput) {
			t.Fatalf("err = %v, want ErrBadInput", err)
		}
	})
}
