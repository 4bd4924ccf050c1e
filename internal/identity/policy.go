package identity

import (
	"slices"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/principal"
)

// MFA requirement settings.
const (
	MFAOff        = "off"
	MFAEveryone   = "everyone"
	MFAPrivileged = "privileged" // tenant admins, compliance officers, lockbox approvers
	MFAGuests     = "guests"
)

// Policy is a tenant's identity policy.
type Policy struct {
	// MFA says who must use a second factor: off, everyone, privileged or
	// guests. Default privileged.
	MFA string `json:"mfa"`
	// MFAGraceDays is how long a newly required user may sign in without a
	// second factor before enrolment is forced. Default 0 (at once).
	MFAGraceDays int `json:"mfa_grace_days"`
	// SessionIdleMinutes ends a session unused this long. Default 480.
	SessionIdleMinutes int `json:"session_idle_minutes"`
	// SessionAbsoluteHours ends every session this long after sign-in. Default 168.
	SessionAbsoluteHours int `json:"session_absolute_hours"`
	// PasswordMinLength is the shortest password accepted. Default 12, at least 8.
	PasswordMinLength int `json:"password_min_length"`
	// Access are the conditional-access policies, evaluated in order.
	Access []access.Policy `json:"access"`
	// Locations are the named locations the access policies refer to.
	Locations []access.NamedLocation `json:"locations"`
}

// DefaultPolicy is a new tenant's policy.
func DefaultPolicy() Policy {
	return Policy{MFA: MFAPrivileged, SessionIdleMinutes: 8 * 60, SessionAbsoluteHours: 7 * 24, PasswordMinLength: 12,
		Access: []access.Policy{}, Locations: []access.NamedLocation{}}
}

// Validate checks a policy an admin submits.
func (p Policy) Validate() error {
	if !slices.Contains([]string{MFAOff, MFAEveryone, MFAPrivileged, MFAGuests}, p.MFA) {
		return errs.E(errs.Invalid, "mfa must be off, everyone, privileged or guests.")
	}
	switch {
	case p.MFAGraceDays < 0 || p.MFAGraceDays > 90:
		return errs.E(errs.Invalid, "mfa_grace_days must be from 0 to 90.")
	case p.SessionIdleMinutes < 5 || p.SessionIdleMinutes > 7*24*60:
		return errs.E(errs.Invalid, "session_idle_minutes must be from 5 to 10080 (a week).")
	case p.SessionAbsoluteHours < 1 || p.SessionAbsoluteHours > 90*24:
		return errs.E(errs.Invalid, "session_absolute_hours must be from 1 to 2160 (90 days).")
	case p.PasswordMinLength < 8 || p.PasswordMinLength > 64:
		return errs.E(errs.Invalid, "password_min_length must be from 8 to 64.")
	}
	return access.ValidateSet(p.Access, p.Locations)
}

// requiresMFA says whether the tenant's MFA setting covers an account.
func (p Policy) requiresMFA(a Account) bool {
	switch p.MFA {
	case MFAEveryone:
		return true
	case MFAGuests:
		return a.Kind == principal.Guest
	case MFAPrivileged:
		return a.Kind == principal.Member && len(a.Roles) > 0
	}
	return false
}
