// Package lockbox is how the operator reaches a tenant's content: only
// through a request the tenant's lockbox approvers approved, for the
// resources named in it, until it expires or is revoked.
//
// A request moves through these states:
//
//	pending ──approve──▶ approved ──activate──▶ active ──▶ completed (time up or operator done)
//	   │                     │                     └──revoke──▶ revoked
//	   ├──deny──▶ denied     └──revoke──▶ revoked
//	   └──(no answer in time)──▶ expired
//
// Every change of state is audited in the tenant's log and the operator's,
// and appended to the tenant's access-transparency log, in the same
// transaction. The one check every content read of an operator goes
// through is [Service.Authorize].
package lockbox

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// States of a request.
const (
	Pending   = "pending"
	Approved  = "approved"
	Denied    = "denied"
	Expired   = "expired"
	Active    = "active"
	Revoked   = "revoked"
	Completed = "completed"
)

// Justification codes, after Google's access transparency.
var Justifications = []string{
	"customer_initiated_support", // the customer asked for help
	"service_outage",             // restoring the service for the customer
	"security_incident",          // investigating an attack or abuse
	"data_recovery",              // restoring the customer's data on request
	"legal_request",              // a verified legal request (see the provider's ledger)
}

// Resource kinds a request can name. A resource is "<kind>:<id>", or
// "tenant_config" alone.
const (
	ResChannel      = "channel"       // a channel's or chat's messages and files
	ResUserMessages = "user_messages" // the messages a user wrote
	ResRecording    = "recording"     // a meeting recording
	ResTenantConfig = "tenant_config" // the tenant's settings and policies
)

// Limits.
const (
	MaxDuration        = 8 * time.Hour  // longest grant
	DefaultDuration    = 4 * time.Hour  // when the request names none
	MaxPendingFor      = 12 * time.Hour // unanswered requests expire after this (tenants may shorten it)
	MinPendingFor      = 15 * time.Minute
	MaxResources       = 20
	MaxReasonRunes     = 2000
	MaxTicketRunes     = 100
	MinDurationMinutes = 15
)

// Request is a lockbox request and, once approved, the grant.
type Request struct {
	ID            string       `json:"id"`
	Tenant        ids.TenantID `json:"tenant"`
	Operator      ids.UserID   `json:"operator"`
	Resources     []string     `json:"resources"`
	Justification string       `json:"justification"`
	Reason        string       `json:"reason"`
	Ticket        string       `json:"ticket"`
	Duration      Duration     `json:"duration" doc:"How long the grant lasts once approved, e.g. \"4h\"."`
	State         string       `json:"state"`
	Created       time.Time    `json:"created"`
	ExpiresAt     time.Time    `json:"expires_at" doc:"When a pending request expires unanswered."`
	DecidedBy     ids.UserID   `json:"decided_by,omitempty"`
	Decided       time.Time    `json:"decided,omitzero"`
	GrantEnds     time.Time    `json:"grant_ends,omitzero" doc:"When the access ends (approval time plus duration)."`
	Ended         time.Time    `json:"ended,omitzero"`
	EndedBy       ids.UserID   `json:"ended_by,omitempty"`
	Accesses      int          `json:"accesses" doc:"How many reads were made under the grant."`
}

// Duration is a time.Duration written as text ("4h", "90m") in JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return errs.E(errs.Invalid, "The duration %q is not a duration like 4h or 90m.", truncate(string(b), 20))
	}
	*d = Duration(v)
	return nil
}

// Open reports whether the request may still be decided.
func (r Request) Open() bool { return r.State == Pending }

// Live reports whether the grant allows access at now: approved, not
// ended, and now within its window — a clock set back before the approval
// does not revive anything.
func (r Request) Live(now time.Time) bool {
	return (r.State == Approved || r.State == Active) && now.Before(r.GrantEnds) && !now.Before(r.Decided)
}

// Covers reports whether the request names resource.
func (r Request) Covers(resource string) bool { return slices.Contains(r.Resources, resource) }

// settle moves a request whose time ran out to its final state: a pending
// one to expired, a live grant past its end to completed. It reports
// whether it changed anything.
func (r *Request) settle(now time.Time) bool {
	switch {
	case r.State == Pending && !now.Before(r.ExpiresAt):
		r.State, r.Ended = Expired, r.ExpiresAt
		return true
	case (r.State == Approved || r.State == Active) && !now.Before(r.GrantEnds):
		r.State, r.Ended = Completed, r.GrantEnds
		return true
	}
	return false
}

// ParseResource splits a resource into its kind and id and checks its form.
func ParseResource(res string) (kind, id string, err error) {
	if res == ResTenantConfig {
		return ResTenantConfig, "", nil
	}
	kind, id, ok := strings.Cut(res, ":")
	switch {
	case !ok || !ids.Valid(id):
		return "", "", errs.E(errs.Invalid, "The resource %q is not of the form kind:id (channel, user_messages or recording) or tenant_config.", truncate(res, 80))
	case kind != ResChannel && kind != ResUserMessages && kind != ResRecording:
		return "", "", errs.E(errs.Invalid, "The resource kind %q is unknown: use channel, user_messages, recording or tenant_config.", truncate(kind, 40))
	}
	return kind, id, nil
}

// validate checks a new request's fields.
func (r *Request) validate() error {
	if !ids.Valid(string(r.Tenant)) {
		return errs.E(errs.Invalid, "Name the tenant the request is for.")
	}
	if len(r.Resources) == 0 || len(r.Resources) > MaxResources {
		return errs.E(errs.Invalid, "Name 1 to %d resources.", MaxResources)
	}
	seen := map[string]bool{}
	for _, res := range r.Resources {
		if _, _, err := ParseResource(res); err != nil {
			return err
		}
		if seen[res] {
			return errs.E(errs.Invalid, "The resource %s is named twice.", res)
		}
		seen[res] = true
	}
	if !slices.Contains(Justifications, r.Justification) {
		return errs.E(errs.Invalid, "The justification must be one of %s.", strings.Join(Justifications, ", "))
	}
	if r.Reason = strings.TrimSpace(r.Reason); r.Reason == "" || utf8.RuneCountInString(r.Reason) > MaxReasonRunes || !utf8.ValidString(r.Reason) {
		return errs.E(errs.Invalid, "Explain the request in 1 to %d characters.", MaxReasonRunes)
	}
	if r.Ticket = strings.TrimSpace(r.Ticket); r.Ticket == "" || utf8.RuneCountInString(r.Ticket) > MaxTicketRunes || strings.ContainsAny(r.Ticket, "\r\n") {
		return errs.E(errs.Invalid, "Give the support ticket (one line, at most %d characters).", MaxTicketRunes)
	}
	if r.Duration == 0 {
		r.Duration = Duration(DefaultDuration)
	}
	if d := time.Duration(r.Duration); d < MinDurationMinutes*time.Minute || d > MaxDuration {
		return errs.E(errs.Invalid, "The duration must be between %d minutes and %s.", MinDurationMinutes, MaxDuration)
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// errNotFound hides whether a request exists from those who may not see it.
var errNotFound = errs.E(errs.NotFound, "There is no such lockbox request.")
