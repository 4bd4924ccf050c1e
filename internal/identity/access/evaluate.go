package access

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Input describes one access to evaluate: a sign-in, or a session or token
// used from a new address.
type Input struct {
	// Tenant is the tenant whose policies and locations are evaluated;
	// Evaluate only checks that it is present: passing that tenant's
	// policies is the caller's job.
	Tenant ids.TenantID
	User   ids.UserID
	Kind   principal.Kind   // principal.Member or principal.Guest
	Roles  []principal.Role // the member's tenant roles; ignored for guests
	Addr   netip.Addr       // the client's address, as the HTTP layer determined it (required)
	Client ClientKind
	// Satisfied is what the sign-in (or the session or token in use) has
	// already proved.
	Satisfied Factors
}

// Factors are the authentication factors an access has presented.
type Factors struct {
	Password bool `json:"password,omitempty"`
	MFA      bool `json:"mfa,omitempty"`     // a second factor of any kind
	Passkey  bool `json:"passkey,omitempty"` // a passkey (phishing-resistant; also counts as MFA)
}

// Meets reports whether the factors satisfy strength s. A passkey meets
// both strengths; any second factor meets StrengthMFA.
func (f Factors) Meets(s Strength) bool {
	switch s {
	case "":
		return true
	case StrengthMFA:
		return f.MFA || f.Passkey
	case StrengthPasskey:
		return f.Passkey
	}
	return false
}

// Strength is an authentication strength a policy can require.
type Strength string

// The strengths, weakest first.
const (
	StrengthMFA     Strength = "mfa"     // any second factor
	StrengthPasskey Strength = "passkey" // a passkey: phishing-resistant MFA
)

func (s Strength) rank() int {
	switch s {
	case StrengthMFA:
		return 1
	case StrengthPasskey:
		return 2
	}
	return 0
}

// Outcome is what the service must do with an access.
type Outcome string

// The outcomes.
const (
	Allow        Outcome = "allow"         // let it through
	Block        Outcome = "block"         // refuse it
	NeedsMFA     Outcome = "needs_mfa"     // ask for a second factor, then evaluate again
	NeedsPasskey Outcome = "needs_passkey" // ask for a passkey, then evaluate again
)

// Decision is the result of Evaluate.
type Decision struct {
	// Outcome combines the controls of every enforced policy that applied:
	// block, else the strongest required factor the access has not yet
	// presented, else allow.
	Outcome Outcome `json:"outcome"`
	// Require is the strongest factor the enforced policies require, met or
	// not; empty if none.
	Require Strength `json:"require,omitempty"`
	// SessionLifetime is the shortest lifetime the enforced policies set;
	// zero if none does, and zero when the access is blocked.
	SessionLifetime Duration `json:"session_lifetime,omitempty"`
	// ReportOnlyOutcome is the outcome had the report-only policies been
	// enforced too. It is set only when a report-only policy applied.
	ReportOnlyOutcome Outcome `json:"report_only_outcome,omitempty"`
	// Trace says, for every policy in the order given, what it did and why.
	Trace []Result `json:"trace"`
	// Err is set when the Input could not be evaluated (it wraps
	// ErrBadInput); the Outcome is then Block and the Trace empty.
	Err error `json:"-"`
}

// Evaluate decides an access against a tenant's policies and named
// locations. It evaluates every policy that is not disabled, enforces the
// controls of the enabled ones that apply and traces the report-only ones.
// It never fails open: an Input that is not valid yields Block with Err set,
// and a policy in an unknown state is enforced.
//
// Evaluate does not change its arguments and is safe to call concurrently.
func Evaluate(policies []Policy, locations []NamedLocation, in Input) Decision {
	return evaluate(policies, locations, in, nil)
}

// WhatIf evaluates as Evaluate does but treats the policies whose state is
// one of asEnabled as enabled, so that an admin can see what a report-only
// or disabled policy would do before enabling it. With no states given it
// treats every policy as enabled. The trace marks each policy so treated
// (Result.WhatIf) and keeps its stored State. To test a single policy, pass
// only that policy.
func WhatIf(policies []Policy, locations []NamedLocation, in Input, asEnabled ...State) Decision {
	if len(asEnabled) == 0 {
		asEnabled = []State{ReportOnly, Disabled}
	}
	return evaluate(policies, locations, in, asEnabled)
}

// Validate checks that in can be evaluated. Its error wraps ErrBadInput.
func (in Input) Validate() error {
	switch {
	case !ids.Valid(string(in.Tenant)):
		return fmt.Errorf("%w: tenant id %q is not valid", ErrBadInput, in.Tenant)
	case !ids.Valid(string(in.User)):
		return fmt.Errorf("%w: user id %q is not valid", ErrBadInput, in.User)
	case in.Kind != principal.Member && in.Kind != principal.Guest:
		return fmt.Errorf("%w: principal kind %q is neither member nor guest", ErrBadInput, in.Kind)
	case !in.Addr.IsValid():
		return fmt.Errorf("%w: the client address is missing", ErrBadInput)
	case !in.Client.Valid():
		return fmt.Errorf("%w: unknown client kind %q", ErrBadInput, in.Client)
	}
	return nil
}

// combined accumulates the controls of applying policies.
type combined struct {
	block    bool
	require  Strength
	lifetime time.Duration
}

func (c *combined) add(e *Effect) {
	c.block = c.block || e.Block
	if e.Require.rank() > c.require.rank() {
		c.require = e.Require
	}
	if l := time.Duration(e.SessionLifetime); l > 0 && (c.lifetime == 0 || l < c.lifetime) {
		c.lifetime = l
	}
}

func (c *combined) outcome(f Factors) Outcome {
	switch {
	case c.block:
		return Block
	case !f.Meets(c.require) && c.require == StrengthPasskey:
		return NeedsPasskey
	case !f.Meets(c.require):
		return NeedsMFA
	}
	return Allow
}

func evaluate(policies []Policy, locations []NamedLocation, in Input, asEnabled []State) Decision {
	if err := in.Validate(); err != nil {
		return Decision{Outcome: Block, Err: err}
	}
	ev := evaluator{
		in:        &in,
		addr:      canonical(in.Addr),
		locations: locations,
		reasons:   make([]Reason, 0, 2*len(policies)),
	}
	d := Decision{Trace: make([]Result, len(policies))}
	var effects []Effect // cut from one array, allocated on first use
	var enforced, withReportOnly combined
	reportOnlyApplied := false
	for i := range policies {
		p := &policies[i]
		r := &d.Trace[i]
		*r = Result{PolicyID: p.ID, PolicyName: p.Name, State: p.State}
		state := p.State
		if state != Enabled && slices.Contains(asEnabled, state) {
			state, r.WhatIf = Enabled, true
		}
		if state == Disabled {
			r.Status = StatusDisabled
			start := len(ev.reasons)
			ev.reasons = append(ev.reasons, Reason{Code: ReasonDisabled})
			r.Reasons = ev.cut(start)
			continue
		}
		matched, reasons := ev.match(&p.Conditions)
		r.Reasons = reasons
		if !matched {
			r.Status = StatusNotApplied
			continue
		}
		if effects == nil {
			effects = make([]Effect, 0, len(policies)-i)
		}
		effects = append(effects, effectOf(&p.Controls, in.Satisfied))
		e := &effects[len(effects)-1]
		r.Effect = e
		withReportOnly.add(e)
		if state == ReportOnly {
			r.Status = StatusReportOnly
			reportOnlyApplied = true
			continue
		}
		// Enabled, or an unknown state: enforce (fail closed).
		r.Status = StatusApplied
		enforced.add(e)
	}
	d.Outcome = enforced.outcome(in.Satisfied)
	d.Require = enforced.require
	if d.Outcome != Block {
		d.SessionLifetime = Duration(enforced.lifetime)
	}
	if reportOnlyApplied {
		d.ReportOnlyOutcome = withReportOnly.outcome(in.Satisfied)
	}
	return d
}

func effectOf(c *Controls, f Factors) Effect {
	e := Effect{Block: c.Block, SessionLifetime: c.SessionLifetime}
	switch {
	case c.RequirePhishingResistantMFA:
		e.Require = StrengthPasskey
	case c.RequireMFA:
		e.Require = StrengthMFA
	}
	if e.Require != "" {
		e.Satisfied = f.Meets(e.Require)
	}
	return e
}

// evaluator holds what one evaluation computes once, and the backing
// arrays the trace's reasons and names are cut from (one allocation each
// instead of one per policy).
type evaluator struct {
	in        *Input
	addr      netip.Addr
	locations []NamedLocation

	indexed bool
	index   map[string]bool // location name → contains addr
	trusted string          // the first trusted location that contains addr

	reasons []Reason
	names   []string
}

// cut returns the reasons appended since start, capped so that appending
// to the result cannot overwrite what follows.
func (ev *evaluator) cut(start int) []Reason {
	return ev.reasons[start:len(ev.reasons):len(ev.reasons)]
}

// fail replaces the reasons appended since start with the one reason a
// condition did not match.
func (ev *evaluator) fail(start int, r Reason) []Reason {
	ev.reasons = append(ev.reasons[:start], r)
	return ev.cut(start)
}

// match evaluates the conditions in a fixed order (users, locations, client
// kinds) and stops at the first that does not match. It returns the reasons
// of the matching conditions, or the reason of the one that did not match.
func (ev *evaluator) match(c *Conditions) (bool, []Reason) {
	start := len(ev.reasons)
	if c.Users != nil {
		r, ok := ev.users(c.Users)
		if !ok {
			return false, ev.fail(start, r)
		}
		ev.reasons = append(ev.reasons, r)
	}
	if c.Locations != nil {
		if r, ok := ev.locationsMatch(c.Locations); !ok {
			return false, ev.fail(start, r)
		}
	}
	if len(c.ClientKinds) > 0 {
		r := Reason{Code: ReasonClientIncluded, Value: string(ev.in.Client)}
		if !slices.Contains(c.ClientKinds, ev.in.Client) {
			r.Code = ReasonClientNotIncluded
			return false, ev.fail(start, r)
		}
		ev.reasons = append(ev.reasons, r)
	}
	if len(ev.reasons) == start {
		ev.reasons = append(ev.reasons, Reason{Code: ReasonNoConditions})
	}
	return true, ev.cut(start)
}

func (ev *evaluator) hasRole(r principal.Role) bool {
	switch r {
	case AllUsers:
		return true
	case AllMembers:
		return ev.in.Kind == principal.Member
	case AllGuests:
		return ev.in.Kind == principal.Guest
	}
	return ev.in.Kind == principal.Member && slices.Contains(ev.in.Roles, r)
}

func (ev *evaluator) users(c *UserCondition) (Reason, bool) {
	if slices.Contains(c.ExcludeUsers, ev.in.User) {
		return Reason{Code: ReasonUserExcluded, Value: string(ev.in.User)}, false
	}
	for _, r := range c.ExcludeRoles {
		if ev.hasRole(r) {
			return Reason{Code: ReasonRoleExcluded, Value: string(r)}, false
		}
	}
	if slices.Contains(c.IncludeUsers, ev.in.User) {
		return Reason{Code: ReasonUserIncluded, Value: string(ev.in.User)}, true
	}
	for _, r := range c.IncludeRoles {
		if ev.hasRole(r) {
			return Reason{Code: ReasonRoleIncluded, Value: string(r)}, true
		}
	}
	return Reason{Code: ReasonUserNotIncluded}, false
}

// build indexes the named locations by name, with whether each contains
// the address. It runs on first use, so evaluations whose policies have no
// locations condition never scan a range.
func (ev *evaluator) build() {
	if ev.indexed {
		return
	}
	ev.indexed = true
	ev.index = make(map[string]bool, len(ev.locations))
	for i := range ev.locations {
		l := &ev.locations[i]
		if _, dup := ev.index[l.Name]; dup {
			continue // ValidateSet refuses duplicates; if one slips through, the first counts
		}
		in := l.contains(ev.addr)
		ev.index[l.Name] = in
		if in && l.Trusted && ev.trusted == "" {
			ev.trusted = l.Name
		}
	}
}

// lookup reports whether the named location exists and contains the address.
func (ev *evaluator) lookup(name string) (exists, in bool) {
	ev.build()
	in, exists = ev.index[name]
	return exists, in
}

// trustedLocation returns the name of the first trusted location that
// contains the address, or "".
func (ev *evaluator) trustedLocation() string {
	ev.build()
	return ev.trusted
}

// locationsMatch evaluates a locations condition. When it matches, it
// appends its reasons and returns true; when it does not, it returns the
// reason.
func (ev *evaluator) locationsMatch(c *LocationCondition) (Reason, bool) {
	excluded := Reason{Code: ReasonNotInExcludedLocation, Addr: ev.addr}
	for _, n := range c.Exclude {
		if n == AllTrusted {
			if t := ev.trustedLocation(); t != "" {
				return Reason{Code: ReasonInExcludedLocation, Addr: ev.addr, Value: t, Trusted: true}, false
			}
			excluded.Trusted = true
		} else if _, in := ev.lookup(n); in {
			return Reason{Code: ReasonInExcludedLocation, Addr: ev.addr, Value: n}, false
		}
	}
	var included Reason
	for _, n := range c.Include {
		switch n {
		case AnyLocation:
			included = Reason{Code: ReasonAnyLocation}
		case AllTrusted:
			if t := ev.trustedLocation(); t != "" {
				included = Reason{Code: ReasonInTrustedLocation, Addr: ev.addr, Value: t}
			}
		default:
			if _, in := ev.lookup(n); in {
				included = Reason{Code: ReasonInLocation, Addr: ev.addr, Value: n}
			}
		}
		if included.Code != "" {
			break
		}
	}
	if included.Code == "" {
		r := Reason{Code: ReasonNotInIncludedLocation, Addr: ev.addr, Trusted: slices.Contains(c.Include, AllTrusted)}
		r.Locations, r.Missing = ev.named(c.Include)
		return r, false
	}
	if len(c.Exclude) == 0 {
		ev.reasons = append(ev.reasons, included)
		return Reason{}, true
	}
	excluded.Locations, excluded.Missing = ev.named(c.Exclude)
	if included.Code != ReasonAnyLocation {
		ev.reasons = append(ev.reasons, included)
	}
	ev.reasons = append(ev.reasons, excluded)
	return Reason{}, true
}

// named returns the names in list that are not pseudo-locations, and those
// of them that name no location (nil, without allocating, if none).
func (ev *evaluator) named(list []string) (names, missing []string) {
	start := len(ev.names)
	for _, n := range list {
		if n == AnyLocation || n == AllTrusted {
			continue
		}
		ev.names = append(ev.names, n)
		if exists, _ := ev.lookup(n); !exists {
			missing = append(missing, n)
		}
	}
	if len(ev.names) == start {
		return nil, missing
	}
	return ev.names[start:len(ev.names):len(ev.names)], missing
}
