package access_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/principal"
)

// tenantPolicies is a realistic tenant's set, used by the golden traces.
func tenantPolicies() []access.Policy {
	return []access.Policy{
		{ID: "p1", Name: "Block outside office", State: access.Enabled,
			Conditions: access.Conditions{
				Users:       &access.UserCondition{IncludeRoles: roles(access.AllUsers), ExcludeUsers: userIDs("breakglass")},
				Locations:   &access.LocationCondition{Include: names(access.AnyLocation), Exclude: names("Tokyo office", "Home VPN")},
				ClientKinds: []access.ClientKind{access.Browser},
			},
			Controls: access.Controls{Block: true}},
		{ID: "p2", Name: "MFA for members", State: access.Enabled,
			Conditions: users(access.UserCondition{IncludeRoles: roles(access.AllMembers), ExcludeRoles: roles(principal.TenantAdmin)}),
			Controls:   access.Controls{RequireMFA: true}},
		{ID: "p3", Name: "Passkeys for admins", State: access.Enabled,
			Conditions: users(access.UserCondition{IncludeRoles: roles(principal.TenantAdmin)}),
			Controls:   access.Controls{RequirePhishingResistantMFA: true, SessionLifetime: hours(8)}},
		{ID: "p4", Name: "Passkeys for guests", State: access.ReportOnly,
			Conditions: users(access.UserCondition{IncludeRoles: roles(access.AllGuests)}),
			Controls:   access.Controls{RequirePhishingResistantMFA: true}},
		{ID: "p5", Name: "Short token sessions", State: access.Enabled,
			Conditions: access.Conditions{ClientKinds: []access.ClientKind{access.APIToken}},
			Controls:   access.Controls{SessionLifetime: access.Duration(90 * 60e9)}},
		{ID: "p6", Name: "No guests", State: access.Disabled,
			Conditions: users(access.UserCondition{IncludeRoles: roles(access.AllGuests)}),
			Controls:   access.Controls{Block: true}},
		{ID: "p7", Name: "Compliance from trusted sites only", State: access.Enabled,
			Conditions: access.Conditions{
				Users:     &access.UserCondition{IncludeRoles: roles(principal.ComplianceOfficer)},
				Locations: &access.LocationCondition{Include: names(access.AnyLocation), Exclude: names(access.AllTrusted)},
			},
			Controls: access.Controls{Block: true}},
		{ID: "p8", Name: "Lab sessions", State: access.Enabled,
			Conditions: where(names("Osaka lab", "Gone")),
			Controls:   access.Controls{SessionLifetime: access.Duration(36 * 3600e9)}},
	}
}

var traceScenarios = []struct {
	name   string
	in     access.Input
	whatIf bool
}{
	{"member, password, from outside", member("u1"), false},
	{"member, password, from the office (IPv4)", at(member("u1"), tokyoV4), false},
	{"member, MFA, from the office (IPv4-mapped IPv6)", with(at(member("u1"), tokyo4in6), access.Factors{Password: true, MFA: true}), false},
	{"admin, passkey, from the office (IPv6)", with(at(member("a1", principal.TenantAdmin), tokyoV6), access.Factors{Passkey: true}), false},
	{"admin, password, over the VPN", at(member("a1", principal.TenantAdmin), vpnV6), false},
	{"break-glass account from outside", with(member("breakglass", principal.TenantAdmin), access.Factors{Passkey: true}), false},
	{"guest, password, from the office", at(guest("g1"), tokyoV4), false},
	{"member, API token, from outside", with(via(member("u1"), access.APIToken), access.Factors{Password: true, MFA: true}), false},
	{"compliance officer, MFA, over the VPN", with(at(member("c1", principal.ComplianceOfficer), vpnV6), access.Factors{MFA: true}), false},
	{"compliance officer, MFA, from the lab", with(at(member("c1", principal.ComplianceOfficer), osaka), access.Factors{MFA: true}), false},
	{"what-if: guest, password, from the office", at(guest("g1"), tokyoV4), true},
	{"no address", at(member("u1"), netip.Addr{}), false},
}

// TestTraceSentences pins the sentences of the sign-in log in
// testdata/trace.golden; run with -update after a deliberate change.
func TestTraceSentences(t *testing.T) {
	var b strings.Builder
	for _, sc := range traceScenarios {
		var d access.Decision
		if sc.whatIf {
			d = access.WhatIf(tenantPolicies(), locations, sc.in)
		} else {
			d = access.Evaluate(tenantPolicies(), locations, sc.in)
		}
		fmt.Fprintf(&b, "## %s\n%s\n\n", sc.name, d)
	}
	golden(t, "trace.golden", []byte(b.String()))
}

// TestTraceJSON pins the structured trace's field names in
// testdata/decision.json.
func TestTraceJSON(t *testing.T) {
	d := access.Evaluate(tenantPolicies(), locations, at(guest("g1"), tokyoV4))
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "decision.json", append(b, '\n'))

	var back access.Decision
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.String() != d.String() {
		t.Fatalf("the trace read back from JSON renders differently:\n%s\n---\n%s", back, d)
	}
}

func TestTraceExamples(t *testing.T) {
	tests := []struct {
		name string
		p    access.Policy
		in   access.Input
		want string
	}{
		{"block outside office",
			access.Policy{ID: "p1", Name: "Block outside office", State: access.Enabled,
				Conditions: where(names(access.AnyLocation), "Tokyo office"), Controls: access.Controls{Block: true}},
			member("u1"),
			`"Block outside office" applied: the address 203.0.113.9 is not in the named location "Tokyo office". It blocks access.`},
		{"excluded by role",
			access.Policy{ID: "p2", Name: "MFA for members", State: access.Enabled,
				Conditions: users(access.UserCondition{IncludeRoles: roles(access.AllMembers), ExcludeRoles: roles(principal.TenantAdmin)}),
				Controls:   access.Controls{RequireMFA: true}},
			member("a1", principal.TenantAdmin),
			`"MFA for members" did not apply: the user is excluded by role tenant_admin.`},
		{"report-only, would block",
			access.Policy{ID: "p3", Name: "No API tokens", State: access.ReportOnly,
				Conditions: access.Conditions{ClientKinds: []access.ClientKind{access.APIToken}}, Controls: access.Controls{Block: true}},
			via(member("u1"), access.APIToken),
			`"No API tokens" is report-only and would have applied: the client is an API token. It would have blocked access.`},
		{"report-only, not applied",
			access.Policy{ID: "p3", Name: "No API tokens", State: access.ReportOnly,
				Conditions: access.Conditions{ClientKinds: []access.ClientKind{access.APIToken}}, Controls: access.Controls{Block: true}},
			member("u1"),
			`"No API tokens" (report-only) did not apply: the client is a browser, which the policy does not cover.`},
		{"several missing locations",
			policy("p4", where(names("Gone", "Lost", "Tokyo office"))),
			member("u1"),
			`"Policy p4" did not apply: the address 203.0.113.9 is not in any of the named locations "Gone", "Lost" or "Tokyo office" (there are no named locations "Gone" and "Lost").`},
		{"trusted included, one location excluded",
			policy("p5", where(names(access.AllTrusted), "Tokyo office", "Osaka lab")),
			at(member("u1"), vpnV6),
			`"Policy p5" applied: the address 2001:db8:ffff::42 is in the trusted named location "Home VPN"; the address 2001:db8:ffff::42 is not in any of the named locations "Tokyo office" or "Osaka lab". It requires MFA (not yet satisfied).`},
		{"not in a trusted location",
			policy("p6", where(names(access.AllTrusted, "Osaka lab"))),
			member("u1"),
			`"Policy p6" did not apply: the address 203.0.113.9 is not in any trusted named location or the named location "Osaka lab".`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := only(t, tt.p, tt.in).String(); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestTraceCannotForgeLogLines: names from a policy are quoted, so a name
// with a line break cannot add a line to the sign-in log.
func TestTraceCannotForgeLogLines(t *testing.T) {
	p := access.Policy{ID: "p1", Name: "x\n\"Admin override\" applied", State: access.Enabled,
		Conditions: where(names("Tokyo\noffice")), Controls: access.Controls{RequireMFA: true}}
	for _, s := range []string{only(t, p, member("u1")).String(), access.Evaluate([]access.Policy{p}, locations, member("u1")).String()} {
		if strings.Count(s, "\n") > 1 || strings.Contains(s, "\n\"Admin") {
			t.Fatalf("a name broke the line:\n%s", s)
		}
	}
}

// TestReasonSentences renders every reason code.
func TestReasonSentences(t *testing.T) {
	tokyo := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name   string
		reason access.Reason
		want   string
	}{
		{"no conditions", access.Reason{Code: access.ReasonNoConditions}, "the policy has no conditions, so it applies to every access"},
		{"user included", access.Reason{Code: access.ReasonUserIncluded, Value: "u1"}, "the user is included by id"},
		{"role included", access.Reason{Code: access.ReasonRoleIncluded, Value: "lockbox_approver"}, "the user holds role lockbox_approver"},
		{"all included", access.Reason{Code: access.ReasonRoleIncluded, Value: "all"}, "all users are included"},
		{"members included", access.Reason{Code: access.ReasonRoleIncluded, Value: "members"}, "the user is a member, and members are included"},
		{"guests included", access.Reason{Code: access.ReasonRoleIncluded, Value: "guests"}, "the user is a guest, and guests are included"},
		{"user excluded", access.Reason{Code: access.ReasonUserExcluded, Value: "u1"}, "the user is excluded by id"},
		{"role excluded", access.Reason{Code: access.ReasonRoleExcluded, Value: "tenant_admin"}, "the user is excluded by role tenant_admin"},
		{"all excluded", access.Reason{Code: access.ReasonRoleExcluded, Value: "all"}, "all users are excluded"},
		{"members excluded", access.Reason{Code: access.ReasonRoleExcluded, Value: "members"}, "the user is a member, and members are excluded"},
		{"guests excluded", access.Reason{Code: access.ReasonRoleExcluded, Value: "guests"}, "the user is a guest, and guests are excluded"},
		{"not included", access.Reason{Code: access.ReasonUserNotIncluded}, "the user is not among the included users and roles"},
		{"any location", access.Reason{Code: access.ReasonAnyLocation}, "every address is included"},
		{"in location", access.Reason{Code: access.ReasonInLocation, Addr: tokyo, Value: "Tokyo office"}, `the address 192.0.2.10 is in the named location "Tokyo office"`},
		{"in trusted location", access.Reason{Code: access.ReasonInTrustedLocation, Addr: tokyo, Value: "Tokyo office"}, `the address 192.0.2.10 is in the trusted named location "Tokyo office"`},
		{"not in included", access.Reason{Code: access.ReasonNotInIncludedLocation, Addr: elsewhere, Locations: names("Tokyo office")}, `the address 203.0.113.9 is not in the named location "Tokyo office"`},
		{"not in trusted", access.Reason{Code: access.ReasonNotInIncludedLocation, Addr: elsewhere, Trusted: true}, `the address 203.0.113.9 is not in any trusted named location`},
		{"not in excluded, missing", access.Reason{Code: access.ReasonNotInExcludedLocation, Addr: elsewhere, Locations: names("Gone"), Missing: names("Gone")},
			`the address 203.0.113.9 is not in the named location "Gone" (there is no named location "Gone")`},
		{"in excluded", access.Reason{Code: access.ReasonInExcludedLocation, Addr: tokyo, Value: "Tokyo office"}, `the address 192.0.2.10 is in the named location "Tokyo office", which is excluded`},
		{"in excluded trusted", access.Reason{Code: access.ReasonInExcludedLocation, Addr: tokyo, Value: "Tokyo office", Trusted: true},
			`the address 192.0.2.10 is in the trusted named location "Tokyo office", and trusted locations are excluded`},
		{"browser", access.Reason{Code: access.ReasonClientIncluded, Value: "browser"}, "the client is a browser"},
		{"token not covered", access.Reason{Code: access.ReasonClientNotIncluded, Value: "api_token"}, "the client is an API token, which the policy does not cover"},
		{"unknown client", access.Reason{Code: access.ReasonClientIncluded, Value: "fax machine"}, `the client is of kind "fax machine"`},
		{"disabled", access.Reason{Code: access.ReasonDisabled}, "the policy is disabled"},
		{"unknown code", access.Reason{Code: "moon_phase"}, "reason moon_phase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.reason.String(); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
