package access

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
)

// Status is what a policy did in one evaluation.
type Status string

// The statuses.
const (
	StatusApplied    Status = "applied"     // conditions matched; controls enforced
	StatusReportOnly Status = "report_only" // report-only, conditions matched; controls not enforced
	StatusNotApplied Status = "not_applied" // a condition did not match
	StatusDisabled   Status = "disabled"    // disabled: not evaluated
)

// Result is one policy's line in the trace of a Decision, for the sign-in
// log. Its fields are stable (they are stored as JSON); String renders it
// as a sentence.
type Result struct {
	PolicyID   string `json:"policy_id"`
	PolicyName string `json:"policy_name"`
	State      State  `json:"state"` // the policy's stored state
	// WhatIf is set when WhatIf evaluated the policy as enabled although its
	// State is not.
	WhatIf bool   `json:"what_if,omitempty"`
	Status Status `json:"status"`
	// Reasons say why: for a policy that applied, one reason per condition
	// that matched (in the order users, locations, client kinds); for one
	// that did not, the reason of the first condition that did not match.
	Reasons []Reason `json:"reasons"`
	// Effect is what the policy's controls did (StatusApplied) or would
	// have done (StatusReportOnly); nil otherwise.
	Effect *Effect `json:"effect,omitempty"`
}

// Effect is what an applying policy's controls demand of the access.
type Effect struct {
	Block           bool     `json:"block,omitempty"`
	Require         Strength `json:"require,omitempty"`
	Satisfied       bool     `json:"satisfied,omitempty"` // the access already presented Require
	SessionLifetime Duration `json:"session_lifetime,omitempty"`
}

// ReasonCode names why a condition matched or did not.
type ReasonCode string

// The reason codes. Value, Addr, Locations, Trusted and Missing of a Reason
// are set as each code's comment says.
const (
	ReasonNoConditions ReasonCode = "no_conditions" // the policy has no conditions

	ReasonUserIncluded    ReasonCode = "user_included"     // Value: the user id
	ReasonRoleIncluded    ReasonCode = "role_included"     // Value: the role or pseudo-role
	ReasonUserExcluded    ReasonCode = "user_excluded"     // Value: the user id
	ReasonRoleExcluded    ReasonCode = "role_excluded"     // Value: the role or pseudo-role
	ReasonUserNotIncluded ReasonCode = "user_not_included" // neither the user nor a role of theirs is included

	ReasonAnyLocation       ReasonCode = "any_location"        // AnyLocation is included (and nothing is excluded)
	ReasonInLocation        ReasonCode = "in_location"         // Addr; Value: the included location
	ReasonInTrustedLocation ReasonCode = "in_trusted_location" // Addr; Value: the trusted location, included by AllTrusted
	// ReasonNotInIncludedLocation: Addr; Locations: the included names;
	// Trusted: AllTrusted was included; Missing: included names with no
	// location.
	ReasonNotInIncludedLocation ReasonCode = "not_in_included_location"
	// ReasonNotInExcludedLocation: as ReasonNotInIncludedLocation, for the
	// excluded names; given with the reason the address is included.
	ReasonNotInExcludedLocation ReasonCode = "not_in_excluded_location"
	// ReasonInExcludedLocation: Addr; Value: the excluded location; Trusted:
	// it is excluded as a trusted location (AllTrusted).
	ReasonInExcludedLocation ReasonCode = "in_excluded_location"

	ReasonClientIncluded    ReasonCode = "client_included"     // Value: the client kind
	ReasonClientNotIncluded ReasonCode = "client_not_included" // Value: the client kind

	ReasonDisabled ReasonCode = "disabled" // the policy is disabled
)

// Reason is one structured reason of a Result. String renders it as a
// clause.
type Reason struct {
	Code      ReasonCode `json:"code"`
	Value     string     `json:"value,omitempty"`
	Addr      netip.Addr `json:"addr,omitzero"`
	Locations []string   `json:"locations,omitempty"`
	Trusted   bool       `json:"trusted,omitempty"`
	Missing   []string   `json:"missing,omitempty"`
}

// String renders the reason as a clause, such as
// `the address 203.0.113.9 is not in the named location "Tokyo office"`.
func (r Reason) String() string {
	switch r.Code {
	case ReasonNoConditions:
		return "the policy has no conditions, so it applies to every access"
	case ReasonUserIncluded:
		return "the user is included by id"
	case ReasonRoleIncluded:
		switch r.Value {
		case string(AllUsers):
			return "all users are included"
		case string(AllMembers):
			return "the user is a member, and members are included"
		case string(AllGuests):
			return "the user is a guest, and guests are included"
		}
		return "the user holds role " + word(r.Value)
	case ReasonUserExcluded:
		return "the user is excluded by id"
	case ReasonRoleExcluded:
		switch r.Value {
		case string(AllUsers):
			return "all users are excluded"
		case string(AllMembers):
			return "the user is a member, and members are excluded"
		case string(AllGuests):
			return "the user is a guest, and guests are excluded"
		}
		return "the user is excluded by role " + word(r.Value)
	case ReasonUserNotIncluded:
		return "the user is not among the included users and roles"
	case ReasonAnyLocation:
		return "every address is included"
	case ReasonInLocation:
		return fmt.Sprintf("the address %s is in the named location %q", r.Addr, r.Value)
	case ReasonInTrustedLocation:
		return fmt.Sprintf("the address %s is in the trusted named location %q", r.Addr, r.Value)
	case ReasonNotInIncludedLocation, ReasonNotInExcludedLocation:
		return fmt.Sprintf("the address %s is not in %s%s", r.Addr, places(r.Trusted, r.Locations), missing(r.Missing))
	case ReasonInExcludedLocation:
		if r.Trusted {
			return fmt.Sprintf("the address %s is in the trusted named location %q, and trusted locations are excluded", r.Addr, r.Value)
		}
		return fmt.Sprintf("the address %s is in the named location %q, which is excluded", r.Addr, r.Value)
	case ReasonClientIncluded:
		return "the client is " + clientWords(r.Value)
	case ReasonClientNotIncluded:
		return "the client is " + clientWords(r.Value) + ", which the policy does not cover"
	case ReasonDisabled:
		return "the policy is disabled"
	}
	return "reason " + word(string(r.Code))
}

// String renders the result as one sentence or two, for example
//
//	"Block outside office" applied: the address 203.0.113.9 is not in the named location "Tokyo office". It blocks access.
//	"MFA for admins" did not apply: the user is excluded by role tenant_admin.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(strconv.Quote(r.PolicyName))
	switch r.Status {
	case StatusApplied:
		b.WriteString(" applied")
	case StatusReportOnly:
		b.WriteString(" is report-only and would have applied")
	case StatusNotApplied:
		if r.State == ReportOnly && !r.WhatIf {
			b.WriteString(" (report-only)")
		}
		b.WriteString(" did not apply")
	case StatusDisabled:
		b.WriteString(" was not evaluated")
	default:
		b.WriteString(" has status " + word(string(r.Status)))
	}
	if r.WhatIf {
		fmt.Fprintf(&b, " (what-if: the policy is %s)", stateWords(r.State))
	}
	b.WriteString(": ")
	for i, reason := range r.Reasons {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(reason.String())
	}
	b.WriteString(".")
	if r.Effect != nil {
		b.WriteString(" ")
		b.WriteString(r.Effect.sentence(r.Status == StatusReportOnly))
	}
	return b.String()
}

// sentence renders what the effect does, or would have done.
func (e *Effect) sentence(would bool) string {
	verb := func(now, then string) string {
		if would {
			return then
		}
		return now
	}
	var parts []string
	if e.Block {
		parts = append(parts, verb("blocks", "blocked")+" access")
	}
	if e.Require != "" {
		what := "MFA"
		if e.Require == StrengthPasskey {
			what = "a passkey"
		}
		state := "not yet satisfied"
		if e.Satisfied {
			state = "already satisfied"
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", verb("requires", "required"), what, state))
	}
	if e.SessionLifetime != 0 {
		parts = append(parts, verb("limits", "limited")+" the session to "+humanDuration(time.Duration(e.SessionLifetime)))
	}
	if len(parts) == 0 {
		return "It has no controls."
	}
	return "It " + verb("", "would have ") + strings.Join(parts, " and ") + "."
}

// String renders the decision for a log: a summary line, then one line per
// policy in the trace.
func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(d.summary())
	for _, r := range d.Trace {
		b.WriteString("\n")
		b.WriteString(r.String())
	}
	return b.String()
}

func (d Decision) summary() string {
	if d.Err != nil {
		detail := strings.TrimPrefix(d.Err.Error(), ErrBadInput.Error()+": ")
		return "Access is blocked: it could not be evaluated (" + detail + ")."
	}
	s := "Access " + outcomeWords(d.Outcome, false) + "."
	if d.SessionLifetime != 0 {
		s += " The session may last at most " + humanDuration(time.Duration(d.SessionLifetime)) + "."
	}
	if d.ReportOnlyOutcome != "" {
		s += " With the report-only policies enforced, access would " + outcomeWords(d.ReportOnlyOutcome, true) + "."
	}
	return s
}

func outcomeWords(o Outcome, would bool) string {
	var now, then string
	switch o {
	case Allow:
		now, then = "is allowed", "be allowed"
	case Block:
		now, then = "is blocked", "be blocked"
	case NeedsMFA:
		now, then = "needs MFA", "need MFA"
	case NeedsPasskey:
		now, then = "needs a passkey", "need a passkey"
	default:
		now, then = "has outcome "+word(string(o)), "have outcome "+word(string(o))
	}
	if would {
		return then
	}
	return now
}

func stateWords(s State) string {
	switch s {
	case ReportOnly:
		return "report-only"
	case Disabled, Enabled:
		return string(s)
	}
	return "in state " + word(string(s))
}

func clientWords(k string) string {
	switch ClientKind(k) {
	case Browser:
		return "a browser"
	case APIToken:
		return "an API token"
	}
	return "of kind " + word(k)
}

// places renders a set of locations an address is not in.
func places(trusted bool, names []string) string {
	var parts []string
	if trusted {
		parts = append(parts, "any trusted named location")
	}
	switch len(names) {
	case 0:
	case 1:
		parts = append(parts, "the named location "+strconv.Quote(names[0]))
	default:
		parts = append(parts, "any of the named locations "+quoted(names, "or"))
	}
	if len(parts) == 0 {
		return "any of the listed locations"
	}
	return strings.Join(parts, " or ")
}

func missing(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" (there is no named location %q)", names[0])
	}
	return " (there are no named locations " + quoted(names, "and") + ")"
}

// quoted renders names as `"a", "b" or "c"`.
func quoted(names []string, conj string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}

// word renders an identifier-like value as is, and anything else quoted, so
// that a value from a malformed policy cannot forge a log line.
func word(s string) string {
	if ids.Valid(s) {
		return s
	}
	return strconv.Quote(s)
}

// humanDuration renders d as "8 hours", "1 day 12 hours", "30 minutes".
func humanDuration(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	var parts []string
	for _, u := range units {
		if n := d / u.d; n > 0 {
			d -= n * u.d
			p := fmt.Sprintf("%d %s", n, u.name)
			if n > 1 {
				p += "s"
			}
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}
