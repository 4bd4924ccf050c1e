package access

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Limits on what a tenant may define. Validate and ValidateSet enforce them;
// they keep Evaluate's cost bounded (see the package documentation).
const (
	MaxPolicies       = 200     // policies per tenant
	MaxLocations      = 200     // named locations per tenant
	MaxRanges         = 1000    // IP ranges per named location
	MaxTotalRanges    = 10000   // IP ranges over all of a tenant's named locations
	MaxUsers          = 1000    // user ids in each of a policy's include and exclude lists
	MaxRoles          = 32      // entries in each of a policy's role lists
	MaxClientKinds    = 16      // entries in a policy's client kinds
	MaxNameLen        = 128     // characters in a policy's or a named location's name
	MaxJSONBytes      = 1 << 20 // bytes of JSON accepted by DecodePolicy and DecodeNamedLocation
	MinIPv4TrustedLen = 8       // shortest IPv4 prefix a trusted named location may hold
	MinIPv6TrustedLen = 32      // shortest IPv6 prefix a trusted named location may hold
)

// Bounds on Controls.SessionLifetime.
const (
	MinSessionLifetime = 5 * time.Minute
	MaxSessionLifetime = 365 * 24 * time.Hour
)

// State says whether a policy is enforced.
type State string

// The states of a policy.
const (
	// Enabled policies are evaluated and their controls enforced.
	Enabled State = "enabled"
	// Disabled policies are not evaluated (WhatIf can evaluate them).
	Disabled State = "disabled"
	// ReportOnly policies are evaluated and traced, as in Entra, but their
	// controls are not enforced: the trace says what they would have done.
	ReportOnly State = "report_only"
)

// Pseudo-roles that may appear in UserCondition's role lists next to the
// tenant roles of package principal.
const (
	AllUsers   principal.Role = "all"     // every member and guest
	AllMembers principal.Role = "members" // every member
	AllGuests  principal.Role = "guests"  // every guest
)

// knownRoles are the roles a policy may name, in the order error messages
// list them.
var knownRoles = []principal.Role{
	AllUsers, AllMembers, AllGuests,
	principal.TenantAdmin, principal.ComplianceOfficer, principal.LockboxApprover,
}

// Pseudo-locations that may appear in LocationCondition's lists next to the
// names of named locations.
const (
	// AnyLocation matches every address. It may only be included.
	AnyLocation = "any"
	// AllTrusted matches an address in any named location marked trusted.
	AllTrusted = "all_trusted"
)

// ClientKind is the kind of client that signs in or uses a session.
type ClientKind string

// The client kinds. To add one, declare it here and add it to clientKinds.
const (
	Browser  ClientKind = "browser"   // the web app, with an interactive sign-in
	APIToken ClientKind = "api_token" // a personal or application API token
)

var clientKinds = []ClientKind{Browser, APIToken}

// Valid reports whether k is a known client kind.
func (k ClientKind) Valid() bool { return slices.Contains(clientKinds, k) }

// Policy is one conditional access policy of a tenant: when its Conditions
// all match an access, its Controls apply.
type Policy struct {
	ID         string     `json:"id"`   // an ids.Valid identifier, unique in the tenant
	Name       string     `json:"name"` // shown to admins and in the sign-in log
	State      State      `json:"state"`
	Conditions Conditions `json:"conditions"`
	Controls   Controls   `json:"controls"`
}

// Conditions say which accesses a policy applies to. Every condition that is
// given must match; an absent condition (nil or empty) matches everything.
type Conditions struct {
	Users       *UserCondition     `json:"users,omitempty"`
	Locations   *LocationCondition `json:"locations,omitempty"`
	ClientKinds []ClientKind       `json:"client_kinds,omitempty"` // any of these; empty for all
}

// UserCondition selects users by id and by role. A user matches when they
// are included by id or by a role they hold and not excluded by id or by a
// role they hold: exclusions win. The role lists take the roles of package
// principal and the pseudo-roles AllUsers, AllMembers and AllGuests. As in
// package principal, only members hold roles: a guest matches AllUsers and
// AllGuests, never a tenant role.
type UserCondition struct {
	IncludeUsers []ids.UserID     `json:"include_users,omitempty"`
	IncludeRoles []principal.Role `json:"include_roles,omitempty"`
	ExcludeUsers []ids.UserID     `json:"exclude_users,omitempty"`
	ExcludeRoles []principal.Role `json:"exclude_roles,omitempty"`
}

// LocationCondition selects accesses by the client's address. The lists
// hold names of NamedLocations and the pseudo-locations AnyLocation
// (include only) and AllTrusted. An address matches when it is in an
// included location and in no excluded one: exclusions win. A name that no
// NamedLocation has contains no address, so a missing excluded location
// excludes nothing.
type LocationCondition struct {
	Include []string `json:"include"`
	Exclude []string `json:"exclude,omitempty"`
}

// Controls are what an applying policy demands. Block wins over everything;
// of the others, the strongest factor and the shortest lifetime of all
// applying enforced policies win.
type Controls struct {
	// Block refuses the access. It cannot be combined with other controls.
	Block bool `json:"block,omitempty"`
	// RequireMFA demands a second factor of any kind (a passkey counts).
	RequireMFA bool `json:"require_mfa,omitempty"`
	// RequirePhishingResistantMFA demands a passkey.
	RequirePhishingResistantMFA bool `json:"require_phishing_resistant_mfa,omitempty"`
	// SessionLifetime, if not zero, is the longest a session may last
	// before the user signs in again, between MinSessionLifetime and
	// MaxSessionLifetime.
	SessionLifetime Duration `json:"session_lifetime,omitempty"`
}

// Duration is a time.Duration written in JSON as a string such as "8h" or
// "30m" (the syntax of time.ParseDuration).
type Duration time.Duration

// String returns the duration as time.Duration writes it, e.g. "8h0m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// Validate checks the policy on its own: its id, name, state, each
// condition and the controls. It returns an error wrapping ErrInvalid whose
// message names the policy and the field. References to named locations are
// checked by ValidateSet, which knows the tenant's locations.
func (p Policy) Validate() error {
	if !ids.Valid(p.ID) {
		return invalid("A policy id must be 1 to 64 letters, digits, '-' or '_'; %q is not.", p.ID)
	}
	if err := checkName("policy", p.Name); err != nil {
		return err
	}
	where := fmt.Sprintf("Policy %q", p.Name)
	switch p.State {
	case Enabled, Disabled, ReportOnly:
	default:
		return invalid("%s: state must be %q, %q or %q, not %q.", where, Enabled, Disabled, ReportOnly, p.State)
	}
	if u := p.Conditions.Users; u != nil {
		if err := u.validate(where); err != nil {
			return err
		}
	}
	if l := p.Conditions.Locations; l != nil {
		if err := l.validate(where); err != nil {
			return err
		}
	}
	if len(p.Conditions.ClientKinds) > MaxClientKinds {
		return invalid("%s: client_kinds may list at most %d kinds.", where, MaxClientKinds)
	}
	for _, k := range p.Conditions.ClientKinds {
		if !k.Valid() {
			return invalid("%s: client_kinds: unknown client kind %q (known: %s).", where, k, list(clientKinds))
		}
	}
	if err := p.Controls.validate(where); err != nil {
		return err
	}
	if p.Controls.Block && p.Conditions.everyone() {
		return invalid("%s would block every sign-in to the organisation, its admins' included: "+
			"narrow it with users (exclude at least one emergency admin), locations or client kinds.", where)
	}
	return nil
}

// everyone reports whether the conditions match every access.
func (c *Conditions) everyone() bool {
	if len(c.ClientKinds) > 0 || c.Locations != nil && !(slices.Contains(c.Locations.Include, AnyLocation) && len(c.Locations.Exclude) == 0) {
		return false
	}
	u := c.Users
	if u == nil {
		return true
	}
	if len(u.ExcludeUsers) > 0 || len(u.ExcludeRoles) > 0 {
		return false
	}
	return slices.Contains(u.IncludeRoles, AllUsers) ||
		slices.Contains(u.IncludeRoles, AllMembers) && slices.Contains(u.IncludeRoles, AllGuests)
}

func (u *UserCondition) validate(where string) error {
	if len(u.IncludeUsers) == 0 && len(u.IncludeRoles) == 0 {
		return invalid("%s: the users condition includes nobody; include users or roles (%q for everyone), or leave the condition out to apply to everyone.", where, AllUsers)
	}
	for _, l := range []struct {
		name  string
		users []ids.UserID
	}{{"users.include_users", u.IncludeUsers}, {"users.exclude_users", u.ExcludeUsers}} {
		if len(l.users) > MaxUsers {
			return invalid("%s: %s may list at most %d users, not %d.", where, l.name, MaxUsers, len(l.users))
		}
		for _, id := range l.users {
			if !ids.Valid(string(id)) {
				return invalid("%s: %s: %q is not a user id.", where, l.name, id)
			}
		}
	}
	for _, l := range []struct {
		name  string
		roles []principal.Role
	}{{"users.include_roles", u.IncludeRoles}, {"users.exclude_roles", u.ExcludeRoles}} {
		if len(l.roles) > MaxRoles {
			return invalid("%s: %s may list at most %d roles, not %d.", where, l.name, MaxRoles, len(l.roles))
		}
		for _, r := range l.roles {
			if !slices.Contains(knownRoles, r) {
				return invalid("%s: %s: unknown role %q (known: %s).", where, l.name, r, list(knownRoles))
			}
		}
	}
	if slices.Contains(u.ExcludeRoles, AllUsers) ||
		slices.Contains(u.ExcludeRoles, AllMembers) && slices.Contains(u.ExcludeRoles, AllGuests) {
		return invalid("%s: the users condition excludes everyone, so the policy would never apply; disable it instead.", where)
	}
	return nil
}

func (l *LocationCondition) validate(where string) error {
	if len(l.Include) == 0 {
		return invalid("%s: the locations condition includes no location; include named locations, %q or %q, or leave the condition out to apply everywhere.", where, AnyLocation, AllTrusted)
	}
	for _, side := range []struct {
		name  string
		names []string
	}{{"locations.include", l.Include}, {"locations.exclude", l.Exclude}} {
		if len(side.names) > MaxLocations+2 {
			return invalid("%s: %s may list at most %d locations.", where, side.name, MaxLocations+2)
		}
		for _, n := range side.names {
			switch {
			case n == AnyLocation && side.name == "locations.exclude":
				return invalid("%s: excluding %q excludes every address, so the policy would never apply; disable it instead.", where, AnyLocation)
			case n == AnyLocation || n == AllTrusted:
			default:
				if err := checkName("named location", n); err != nil {
					return invalid("%s: %s: %s", where, side.name, errs.MessageOf(err))
				}
			}
		}
	}
	return nil
}

func (c *Controls) validate(where string) error {
	if !c.Block && !c.RequireMFA && !c.RequirePhishingResistantMFA && c.SessionLifetime == 0 {
		return invalid("%s has no controls: choose block, require MFA, require a passkey, or a session lifetime.", where)
	}
	if c.Block && (c.RequireMFA || c.RequirePhishingResistantMFA || c.SessionLifetime != 0) {
		return invalid("%s: block cannot be combined with other controls: a blocked access never reaches them.", where)
	}
	if c.RequireMFA && c.RequirePhishingResistantMFA {
		return invalid("%s: choose either require MFA or require a passkey: a passkey is already a second factor.", where)
	}
	if d := time.Duration(c.SessionLifetime); d != 0 && (d < MinSessionLifetime || d > MaxSessionLifetime) {
		return invalid("%s: the session lifetime must be between %s and %s, not %s.",
			where, humanDuration(MinSessionLifetime), humanDuration(MaxSessionLifetime), humanDuration(d))
	}
	return nil
}

// checkName checks the name of a policy or named location: 1 to MaxNameLen
// characters of valid UTF-8, without control characters or leading or
// trailing spaces.
func checkName(what, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalid("A %s needs a name.", what)
	case !utf8.ValidString(name):
		return invalid("A %s name must be valid UTF-8.", what)
	case utf8.RuneCountInString(name) > MaxNameLen:
		return invalid("A %s name may be at most %d characters long.", what, MaxNameLen)
	case strings.TrimSpace(name) != name:
		return invalid("The %s name %q starts or ends with a space.", what, name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return invalid("The %s name %q contains a control character.", what, name)
	}
	return nil
}

// list renders known values for an error message.
func list[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
