package access_test

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/principal"
)

func TestUsersCondition(t *testing.T) {
	tests := []struct {
		name   string
		cond   access.UserCondition
		in     access.Input
		status access.Status
		reason access.ReasonCode
		value  string
	}{
		{"included by id", access.UserCondition{IncludeUsers: userIDs("u1")}, member("u1"),
			access.StatusApplied, access.ReasonUserIncluded, "u1"},
		{"other user not included", access.UserCondition{IncludeUsers: userIDs("u1")}, member("u2"),
			access.StatusNotApplied, access.ReasonUserNotIncluded, ""},
		{"included by role", access.UserCondition{IncludeRoles: roles(principal.TenantAdmin)}, member("u1", principal.TenantAdmin),
			access.StatusApplied, access.ReasonRoleIncluded, "tenant_admin"},
		{"role not held", access.UserCondition{IncludeRoles: roles(principal.TenantAdmin)}, member("u1", principal.ComplianceOfficer),
			access.StatusNotApplied, access.ReasonUserNotIncluded, ""},
		{"all includes a member", access.UserCondition{IncludeRoles: roles(access.AllUsers)}, member("u1"),
			access.StatusApplied, access.ReasonRoleIncluded, "all"},
		{"all includes a guest", access.UserCondition{IncludeRoles: roles(access.AllUsers)}, guest("g1"),
			access.StatusApplied, access.ReasonRoleIncluded, "all"},
		{"members include a member", access.UserCondition{IncludeRoles: roles(access.AllMembers)}, member("u1"),
			access.StatusApplied, access.ReasonRoleIncluded, "members"},
		{"members do not include a guest", access.UserCondition{IncludeRoles: roles(access.AllMembers)}, guest("g1"),
			access.StatusNotApplied, access.ReasonUserNotIncluded, ""},
		{"guests include a guest", access.UserCondition{IncludeRoles: roles(access.AllGuests)}, guest("g1"),
			access.StatusApplied, access.ReasonRoleIncluded, "guests"},
		{"guests do not include a member", access.UserCondition{IncludeRoles: roles(access.AllGuests)}, member("u1"),
			access.StatusNotApplied, access.ReasonUserNotIncluded, ""},
		{"a guest holds no role", access.UserCondition{IncludeRoles: roles(principal.TenantAdmin)}, guest("g1", principal.TenantAdmin),
			access.StatusNotApplied, access.ReasonUserNotIncluded, ""},
		{"a guest's role does not exclude", access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeRoles: roles(principal.TenantAdmin)}, guest("g1", principal.TenantAdmin),
			access.StatusApplied, access.ReasonRoleIncluded, "all"},
		{"excluded by id", access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeUsers: userIDs("breakglass")}, member("breakglass"),
			access.StatusNotApplied, access.ReasonUserExcluded, "breakglass"},
		{"excluded by role", access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeRoles: roles(principal.TenantAdmin)}, member("u1", principal.TenantAdmin),
			access.StatusNotApplied, access.ReasonRoleExcluded, "tenant_admin"},
		{"guests excluded", access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeRoles: roles(access.AllGuests)}, guest("g1"),
			access.StatusNotApplied, access.ReasonRoleExcluded, "guests"},
		{"members excluded, guest still included", access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeRoles: roles(access.AllMembers)}, guest("g1"),
			access.StatusApplied, access.ReasonRoleIncluded, "all"},
		{"not excluded by another user", access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeUsers: userIDs("breakglass")}, member("u1"),
			access.StatusApplied, access.ReasonRoleIncluded, "all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := only(t, policy("p", users(tt.cond)), tt.in)
			if r.Status != tt.status || len(r.Reasons) != 1 || r.Reasons[0].Code != tt.reason || r.Reasons[0].Value != tt.value {
				t.Fatalf("got %s %+v, want %s %s %q\n%s", r.Status, r.Reasons, tt.status, tt.reason, tt.value, r)
			}
		})
	}
}

// TestExclusionWins checks that an exclusion beats an inclusion of the same
// user, however each is expressed.
func TestExclusionWins(t *testing.T) {
	tests := []struct {
		name string
		cond access.UserCondition
		in   access.Input
	}{
		{"id over id", access.UserCondition{IncludeUsers: userIDs("u1"), ExcludeUsers: userIDs("u1")}, member("u1")},
		{"id over role", access.UserCondition{IncludeRoles: roles(principal.TenantAdmin), ExcludeUsers: userIDs("u1")}, member("u1", principal.TenantAdmin)},
		{"role over id", access.UserCondition{IncludeUsers: userIDs("u1"), ExcludeRoles: roles(principal.TenantAdmin)}, member("u1", principal.TenantAdmin)},
		{"role over all", access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeRoles: roles(principal.LockboxApprover)}, member("u1", principal.LockboxApprover)},
		{"guests over id", access.UserCondition{IncludeUsers: userIDs("g1"), ExcludeRoles: roles(access.AllGuests)}, guest("g1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := only(t, policy("p", users(tt.cond)), tt.in); r.Status != access.StatusNotApplied {
				t.Fatalf("status %s, want not_applied: %s", r.Status, r)
			}
		})
	}
	t.Run("location over location", func(t *testing.T) {
		r := only(t, policy("p", where(names("Tokyo office"), "Tokyo office")), at(member("u1"), tokyoV4))
		if r.Status != access.StatusNotApplied || r.Reasons[0].Code != access.ReasonInExcludedLocation {
			t.Fatalf("got %s", r)
		}
	})
}

func TestLocationsCondition(t *testing.T) {
	tests := []struct {
		name    string
		cond    access.Conditions
		addr    netip.Addr
		applies bool
		reasons []access.ReasonCode
	}{
		{"IPv4 in named location", where(names("Tokyo office")), tokyoV4, true, codes(access.ReasonInLocation)},
		{"IPv6 in named location", where(names("Tokyo office")), tokyoV6, true, codes(access.ReasonInLocation)},
		{"IPv4-mapped IPv6 matched as IPv4", where(names("Tokyo office")), tokyo4in6, true, codes(access.ReasonInLocation)},
		{"IPv4 outside", where(names("Tokyo office")), elsewhere, false, codes(access.ReasonNotInIncludedLocation)},
		{"IPv6 outside", where(names("Tokyo office")), elseV6, false, codes(access.ReasonNotInIncludedLocation)},
		{"just past the prefix", where(names("Osaka lab")), osakaOut, false, codes(access.ReasonNotInIncludedLocation)},
		{"inside the prefix", where(names("Osaka lab")), osaka, true, codes(access.ReasonInLocation)},
		{"second included location", where(names("Tokyo office", "Osaka lab")), osaka, true, codes(access.ReasonInLocation)},
		{"any", where(names(access.AnyLocation)), elsewhere, true, codes(access.ReasonAnyLocation)},
		{"any but excluded", where(names(access.AnyLocation), "Tokyo office"), tokyoV4, false, codes(access.ReasonInExcludedLocation)},
		{"any and not excluded", where(names(access.AnyLocation), "Tokyo office"), elsewhere, true, codes(access.ReasonNotInExcludedLocation)},
		{"trusted v4", where(names(access.AllTrusted)), tokyoV4, true, codes(access.ReasonInTrustedLocation)},
		{"trusted v6", where(names(access.AllTrusted)), vpnV6, true, codes(access.ReasonInTrustedLocation)},
		{"untrusted location is not trusted", where(names(access.AllTrusted)), osaka, false, codes(access.ReasonNotInIncludedLocation)},
		{"outside all trusted", where(names(access.AnyLocation), access.AllTrusted), elseV6, true, codes(access.ReasonNotInExcludedLocation)},
		{"inside a trusted, excluded", where(names(access.AnyLocation), access.AllTrusted), vpnV6, false, codes(access.ReasonInExcludedLocation)},
		{"included and not excluded", where(names(access.AllTrusted), "Tokyo office"), vpnV6, true, codes(access.ReasonInTrustedLocation, access.ReasonNotInExcludedLocation)},
		{"missing included location matches nothing", where(names("Gone")), elsewhere, false, codes(access.ReasonNotInIncludedLocation)},
		{"missing excluded location excludes nothing", where(names(access.AnyLocation), "Gone"), tokyoV4, true, codes(access.ReasonNotInExcludedLocation)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := only(t, policy("p", tt.cond), at(member("u1"), tt.addr))
			if got := r.Status == access.StatusApplied; got != tt.applies {
				t.Fatalf("applied = %v, want %v: %s", got, tt.applies, r)
			}
			var got []access.ReasonCode
			for _, reason := range r.Reasons {
				got = append(got, reason.Code)
			}
			if !slices.Equal(got, tt.reasons) {
				t.Fatalf("reasons %v, want %v: %s", got, tt.reasons, r)
			}
		})
	}
}

func codes(c ...access.ReasonCode) []access.ReasonCode { return c }

func TestLocationReasonsNameTheLocation(t *testing.T) {
	r := only(t, policy("p", where(names(access.AnyLocation), access.AllTrusted)), at(member("u1"), vpnV6))
	if got := r.Reasons[0]; got.Value != "Home VPN" || !got.Trusted || got.Addr != vpnV6 {
		t.Fatalf("reason %+v", got)
	}
	r = only(t, policy("p", where(names("Gone", "Tokyo office"))), at(member("u1"), osaka))
	if got := r.Reasons[0]; !slices.Equal(got.Locations, names("Gone", "Tokyo office")) || !slices.Equal(got.Missing, names("Gone")) {
		t.Fatalf("reason %+v", got)
	}
}

func TestContains(t *testing.T) {
	tokyo := locations[0]
	tests := []struct {
		name string
		addr netip.Addr
		want bool
	}{
		{"IPv4", tokyoV4, true},
		{"IPv6", tokyoV6, true},
		{"IPv4-mapped IPv6", tokyo4in6, true},
		{"IPv6 with a zone", netip.MustParseAddr("2001:db8:1::1%eth0"), true},
		{"IPv4 outside", elsewhere, false},
		{"IPv6 outside", elseV6, false},
		{"invalid", netip.Addr{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tokyo.Contains(tt.addr); got != tt.want {
				t.Fatalf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestClientKinds(t *testing.T) {
	tests := []struct {
		name    string
		kinds   []access.ClientKind
		client  access.ClientKind
		applies bool
	}{
		{"absent matches a browser", nil, access.Browser, true},
		{"absent matches a token", nil, access.APIToken, true},
		{"browser only, browser", []access.ClientKind{access.Browser}, access.Browser, true},
		{"browser only, token", []access.ClientKind{access.Browser}, access.APIToken, false},
		{"token only, token", []access.ClientKind{access.APIToken}, access.APIToken, true},
		{"both", []access.ClientKind{access.APIToken, access.Browser}, access.Browser, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := only(t, policy("p", access.Conditions{ClientKinds: tt.kinds}), via(member("u1"), tt.client))
			if got := r.Status == access.StatusApplied; got != tt.applies {
				t.Fatalf("applied = %v, want %v: %s", got, tt.applies, r)
			}
		})
	}
}

// TestAllConditionsMustMatch checks the conjunction, and that the trace of a
// policy that did not apply names the first condition that failed.
func TestAllConditionsMustMatch(t *testing.T) {
	c := access.Conditions{
		Users:       &access.UserCondition{IncludeRoles: roles(principal.TenantAdmin)},
		Locations:   &access.LocationCondition{Include: names(access.AnyLocation), Exclude: names(access.AllTrusted)},
		ClientKinds: []access.ClientKind{access.Browser},
	}
	admin := member("a1", principal.TenantAdmin)
	tests := []struct {
		name   string
		in     access.Input
		status access.Status
		codes  []access.ReasonCode
	}{
		{"all match", admin, access.StatusApplied,
			codes(access.ReasonRoleIncluded, access.ReasonNotInExcludedLocation, access.ReasonClientIncluded)},
		{"user fails", member("u1"), access.StatusNotApplied, codes(access.ReasonUserNotIncluded)},
		{"location fails", at(admin, tokyoV4), access.StatusNotApplied, codes(access.ReasonInExcludedLocation)},
		{"client fails", via(admin, access.APIToken), access.StatusNotApplied, codes(access.ReasonClientNotIncluded)},
		{"user and location fail: user reported", at(member("u1"), tokyoV4), access.StatusNotApplied, codes(access.ReasonUserNotIncluded)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := only(t, policy("p", c), tt.in)
			var got []access.ReasonCode
			for _, reason := range r.Reasons {
				got = append(got, reason.Code)
			}
			if r.Status != tt.status || !slices.Equal(got, tt.codes) {
				t.Fatalf("got %s %v, want %s %v", r.Status, got, tt.status, tt.codes)
			}
		})
	}
	t.Run("no conditions apply to everyone", func(t *testing.T) {
		r := only(t, policy("p", access.Conditions{}), guest("g1"))
		if r.Status != access.StatusApplied || r.Reasons[0].Code != access.ReasonNoConditions {
			t.Fatalf("got %s", r)
		}
	})
}

func TestCombiningControls(t *testing.T) {
	all := access.Conditions{}
	nobody := users(access.UserCondition{IncludeUsers: userIDs("nobody")})
	pol := func(id string, c access.Conditions, ctl access.Controls) access.Policy {
		return access.Policy{ID: id, Name: id, State: access.Enabled, Conditions: c, Controls: ctl}
	}
	block := access.Controls{Block: true}
	mfa := access.Controls{RequireMFA: true}
	passkey := access.Controls{RequirePhishingResistantMFA: true}
	life := func(h int) access.Controls { return access.Controls{SessionLifetime: hours(h)} }
	tests := []struct {
		name     string
		policies []access.Policy
		factors  access.Factors
		outcome  access.Outcome
		require  access.Strength
		lifetime access.Duration
	}{
		{"no policies", nil, access.Factors{Password: true}, access.Allow, "", 0},
		{"block wins over everything", []access.Policy{pol("a", all, passkey), pol("b", all, block), pol("c", all, life(1))},
			access.Factors{Passkey: true}, access.Block, access.StrengthPasskey, 0},
		{"block that does not apply", []access.Policy{pol("a", nobody, block), pol("b", all, mfa)},
			access.Factors{Password: true}, access.NeedsMFA, access.StrengthMFA, 0},
		{"mfa needed", []access.Policy{pol("a", all, mfa)}, access.Factors{Password: true}, access.NeedsMFA, access.StrengthMFA, 0},
		{"mfa met", []access.Policy{pol("a", all, mfa)}, access.Factors{Password: true, MFA: true}, access.Allow, access.StrengthMFA, 0},
		{"mfa met by a passkey", []access.Policy{pol("a", all, mfa)}, access.Factors{Passkey: true}, access.Allow, access.StrengthMFA, 0},
		{"passkey beats mfa", []access.Policy{pol("a", all, mfa), pol("b", all, passkey)},
			access.Factors{Password: true, MFA: true}, access.NeedsPasskey, access.StrengthPasskey, 0},
		{"passkey beats mfa in any order", []access.Policy{pol("b", all, passkey), pol("a", all, mfa)},
			access.Factors{Password: true}, access.NeedsPasskey, access.StrengthPasskey, 0},
		{"passkey met", []access.Policy{pol("a", all, mfa), pol("b", all, passkey)},
			access.Factors{Passkey: true}, access.Allow, access.StrengthPasskey, 0},
		{"strictest lifetime wins", []access.Policy{pol("a", all, life(8)), pol("b", all, life(1)), pol("c", all, life(24))},
			access.Factors{Password: true}, access.Allow, "", hours(1)},
		{"lifetime of a policy that does not apply is ignored", []access.Policy{pol("a", all, life(8)), pol("b", nobody, life(1))},
			access.Factors{Password: true}, access.Allow, "", hours(8)},
		{"lifetime with mfa", []access.Policy{pol("a", all, access.Controls{RequireMFA: true, SessionLifetime: hours(12)}), pol("b", all, life(4))},
			access.Factors{MFA: true}, access.Allow, access.StrengthMFA, hours(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := access.Evaluate(tt.policies, locations, with(member("u1"), tt.factors))
			if d.Outcome != tt.outcome || d.Require != tt.require || d.SessionLifetime != tt.lifetime {
				t.Fatalf("got %s require %q lifetime %s, want %s require %q lifetime %s\n%s",
					d.Outcome, d.Require, d.SessionLifetime, tt.outcome, tt.require, tt.lifetime, d)
			}
		})
	}
}

func TestReportOnlyIsTracedNotEnforced(t *testing.T) {
	blockOutside := access.Policy{ID: "p1", Name: "Block outside office", State: access.ReportOnly,
		Conditions: where(names(access.AnyLocation), "Tokyo office"), Controls: access.Controls{Block: true}}
	mfa := access.Policy{ID: "p2", Name: "MFA", State: access.Enabled, Controls: access.Controls{RequireMFA: true}}
	d := access.Evaluate([]access.Policy{blockOutside, mfa}, locations, with(member("u1"), access.Factors{MFA: true}))
	if d.Outcome != access.Allow {
		t.Fatalf("a report-only block was enforced: %s", d)
	}
	if d.ReportOnlyOutcome != access.Block {
		t.Errorf("ReportOnlyOutcome = %q, want block", d.ReportOnlyOutcome)
	}
	r := d.Trace[0]
	if r.Status != access.StatusReportOnly || r.Effect == nil || !r.Effect.Block || r.State != access.ReportOnly {
		t.Fatalf("trace %+v", r)
	}
	// Report-only controls do not tighten the enforced ones either.
	shorter := access.Policy{ID: "p3", Name: "Short", State: access.ReportOnly, Controls: access.Controls{SessionLifetime: hours(1), RequirePhishingResistantMFA: true}}
	d = access.Evaluate([]access.Policy{shorter, mfa}, locations, with(member("u1"), access.Factors{MFA: true}))
	if d.Outcome != access.Allow || d.SessionLifetime != 0 || d.Require != access.StrengthMFA || d.ReportOnlyOutcome != access.NeedsPasskey {
		t.Fatalf("got %s", d)
	}
	// A report-only policy that does not apply leaves ReportOnlyOutcome unset.
	d = access.Evaluate([]access.Policy{blockOutside}, locations, at(member("u1"), tokyoV6))
	if d.ReportOnlyOutcome != "" || d.Trace[0].Status != access.StatusNotApplied {
		t.Fatalf("got %s", d)
	}
}

func TestDisabledIsIgnored(t *testing.T) {
	p := access.Policy{ID: "p1", Name: "Block all guests", State: access.Disabled,
		Conditions: users(access.UserCondition{IncludeRoles: roles(access.AllGuests)}), Controls: access.Controls{Block: true}}
	d := access.Evaluate([]access.Policy{p}, locations, guest("g1"))
	if d.Outcome != access.Allow || d.ReportOnlyOutcome != "" {
		t.Fatalf("a disabled policy had an effect: %s", d)
	}
	if r := d.Trace[0]; r.Status != access.StatusDisabled || r.Effect != nil || r.Reasons[0].Code != access.ReasonDisabled {
		t.Fatalf("trace %+v", r)
	}
}

// TestUnknownStateIsEnforced: a corrupted state fails closed.
func TestUnknownStateIsEnforced(t *testing.T) {
	p := access.Policy{ID: "p1", Name: "Odd", State: "paused", Controls: access.Controls{Block: true}}
	if d := access.Evaluate([]access.Policy{p}, locations, member("u1")); d.Outcome != access.Block {
		t.Fatalf("got %s", d)
	}
}

func TestWhatIf(t *testing.T) {
	ps := []access.Policy{
		{ID: "on", Name: "On", State: access.Enabled, Controls: access.Controls{SessionLifetime: hours(8)}},
		{ID: "report", Name: "Report", State: access.ReportOnly, Controls: access.Controls{RequireMFA: true}},
		{ID: "off", Name: "Off", State: access.Disabled, Controls: access.Controls{RequirePhishingResistantMFA: true}},
	}
	in := member("u1")
	tests := []struct {
		name      string
		states    []access.State
		outcome   access.Outcome
		whatIf    []bool
		statuses  []access.Status
		reportOut access.Outcome
	}{
		{"everything", nil, access.NeedsPasskey, []bool{false, true, true},
			[]access.Status{access.StatusApplied, access.StatusApplied, access.StatusApplied}, ""},
		{"report-only only", []access.State{access.ReportOnly}, access.NeedsMFA, []bool{false, true, false},
			[]access.Status{access.StatusApplied, access.StatusApplied, access.StatusDisabled}, ""},
		{"disabled only", []access.State{access.Disabled}, access.NeedsPasskey, []bool{false, false, true},
			[]access.Status{access.StatusApplied, access.StatusReportOnly, access.StatusApplied}, access.NeedsPasskey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := access.WhatIf(ps, locations, in, tt.states...)
			if d.Outcome != tt.outcome || d.ReportOnlyOutcome != tt.reportOut {
				t.Fatalf("outcome %s (report-only %q), want %s (%q)\n%s", d.Outcome, d.ReportOnlyOutcome, tt.outcome, tt.reportOut, d)
			}
			for i, r := range d.Trace {
				if r.WhatIf != tt.whatIf[i] || r.Status != tt.statuses[i] || r.State != ps[i].State {
					t.Errorf("%s: what-if %v status %s state %s, want %v %s %s", r.PolicyID, r.WhatIf, r.Status, r.State, tt.whatIf[i], tt.statuses[i], ps[i].State)
				}
			}
		})
	}
	if d := access.Evaluate(ps, locations, in); d.Outcome != access.Allow {
		t.Fatalf("Evaluate enforced a policy that is not enabled: %s", d)
	}
}

// TestFailsClosedOnBadInput: an access that cannot be evaluated is blocked,
// never allowed, even with no policies at all.
func TestFailsClosedOnBadInput(t *testing.T) {
	ok := member("u1")
	tests := []struct {
		name string
		in   access.Input
	}{
		{"no address", at(ok, netip.Addr{})},
		{"no tenant", func() access.Input { in := ok; in.Tenant = ""; return in }()},
		{"bad user id", func() access.Input { in := ok; in.User = "u 1\n"; return in }()},
		{"operator", func() access.Input { in := ok; in.Kind = principal.Operator; return in }()},
		{"anonymous", func() access.Input { in := ok; in.Kind = principal.Anonymous; return in }()},
		{"unknown client kind", via(ok, "carrier_pigeon")},
		{"no client kind", via(ok, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := access.Evaluate(nil, nil, tt.in)
			if d.Outcome != access.Block || !errors.Is(d.Err, access.ErrBadInput) || errs.CodeOf(d.Err) != errs.Internal {
				t.Fatalf("outcome %s, err %v; want block with ErrBadInput", d.Outcome, d.Err)
			}
			if errs.MessageOf(d.Err) != errs.MessageOf(access.ErrBadInput) {
				t.Errorf("safe message leaks details: %q", errs.MessageOf(d.Err))
			}
		})
	}
}

// TestEvaluateLeavesArgumentsAlone and is safe for concurrent use (run
// under -race).
func TestEvaluateLeavesArgumentsAlone(t *testing.T) {
	ps := benchPolicies(10)
	locs := benchLocations(5)
	before := fmt.Sprintf("%#v %#v", ps, locs)
	in := at(member("u1", principal.TenantAdmin), netip.MustParseAddr("10.3.0.1"))
	want := access.Evaluate(ps, locs, in)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := access.Evaluate(ps, locs, in); !reflect.DeepEqual(got, want) {
					t.Error("concurrent evaluations differ")
					return
				}
			}
		})
	}
	wg.Wait()
	if after := fmt.Sprintf("%#v %#v", ps, locs); after != before {
		t.Fatal("Evaluate changed its arguments")
	}
}

func TestFactorsMeet(t *testing.T) {
	tests := []struct {
		name string
		f    access.Factors
		s    access.Strength
		want bool
	}{
		{"nothing required", access.Factors{}, "", true},
		{"password is not mfa", access.Factors{Password: true}, access.StrengthMFA, false},
		{"mfa", access.Factors{MFA: true}, access.StrengthMFA, true},
		{"passkey is mfa", access.Factors{Passkey: true}, access.StrengthMFA, true},
		{"mfa is not a passkey", access.Factors{MFA: true}, access.StrengthPasskey, false},
		{"passkey", access.Factors{Passkey: true}, access.StrengthPasskey, true},
		{"unknown strength is never met", access.Factors{Password: true, MFA: true, Passkey: true}, "retina", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Meets(tt.s); got != tt.want {
				t.Fatalf("Meets = %v, want %v", got, tt.want)
			}
		})
	}
}
