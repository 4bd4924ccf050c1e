package identity

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"

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
	// Guests are the tenant's switches for guest access.
	Guests GuestPolicy `json:"guests"`
	// External says whether members may chat with members of other tenants
	// of this deployment, without guest accounts.
	External ExternalPolicy `json:"external"`
	// Meetings are the tenant's defaults and limits for online meetings.
	Meetings MeetingPolicy `json:"meetings"`
	// Access are the conditional-access policies, evaluated in order.
	Access []access.Policy `json:"access"`
	// Locations are the named locations the access policies refer to.
	Locations []access.NamedLocation `json:"locations"`
	// LockboxPendingHours is how long an operator's lockbox request waits
	// for the tenant's approvers before it expires: 1 to 12; 0 means the
	// longest, 12 (a tenant may only shorten it).
	LockboxPendingHours int `json:"lockbox_pending_hours"`
}

// GuestPolicy says what guests — people from outside invited into the
// tenant — may do. The host organisation keeps its data either way: what a
// guest wrote stays with the tenant.
type GuestPolicy struct {
	// Allowed lets guests be invited and sign in at all. Default true.
	Allowed bool `json:"allowed"`
	// ExpireDays ends a guest's access this many days after it was granted
	// or last renewed by the sponsor; 0 never. Default 90.
	ExpireDays int `json:"expire_days"`
	// EditOwnMessages and DeleteOwnMessages let guests change what they
	// wrote. Default true.
	EditOwnMessages   bool `json:"edit_own_messages"`
	DeleteOwnMessages bool `json:"delete_own_messages"`
	// ManageChannels lets guests create channels. Default false.
	ManageChannels bool `json:"manage_channels"`
	// StartChats lets guests start chats with people of their teams. Default true.
	StartChats bool `json:"start_chats"`
	// StartMeetings and ShareScreen, for meetings. Defaults false and true.
	StartMeetings bool `json:"start_meetings"`
	ShareScreen   bool `json:"share_screen"`
}

// ExternalPolicy governs chats with other organisations on the deployment.
// Both sides must allow each other; each keeps its own copy.
type ExternalPolicy struct {
	// Enabled turns external access on. Default false.
	Enabled bool `json:"enabled"`
	// Allow, when not empty, lists the only domains chats may reach.
	Allow []string `json:"allow"`
	// Block lists domains chats may never reach; it wins over Allow.
	Block []string `json:"block"`
}

// Admits reports whether this policy lets its tenant chat with a tenant
// owning domains.
func (e ExternalPolicy) Admits(domains []string) bool {
	if !e.Enabled {
		return false
	}
	for _, d := range domains {
		if slices.Contains(e.Block, d) {
			return false
		}
	}
	if len(e.Allow) == 0 {
		return true
	}
	for _, d := range domains {
		if slices.Contains(e.Allow, d) {
			return true
		}
	}
	return false
}

// Lobby bypass scopes: who joins a meeting without waiting in its lobby.
// Each scope lets in everyone the narrower ones do, so that widening the
// scope never sends anyone back to the lobby.
const (
	BypassOrganizer                   = "organizer"                   // the organiser and co-organisers
	BypassInvited                     = "invited"                     // + the people invited
	BypassOrganizationExcludingGuests = "organizationExcludingGuests" // + the tenant's members
	BypassOrganization                = "organization"                // + the tenant's guests
	BypassOrganizationAndFederated    = "organizationAndFederated"    // + members of tenants external access allows
	BypassEveryone                    = "everyone"                    // + everyone else, anonymous people included
)

// BypassScopes lists the scopes from the narrowest to the widest.
var BypassScopes = []string{BypassOrganizer, BypassInvited, BypassOrganizationExcludingGuests, BypassOrganization, BypassOrganizationAndFederated, BypassEveryone}

// Who may admit people waiting in a meeting's lobby.
const (
	AdmitOrganizers              = "organizers"              // the organiser and co-organisers
	AdmitOrganizersAndPresenters = "organizersAndPresenters" // and presenters
)

// MeetingPolicy is a tenant's meeting policy: the defaults a new meeting
// starts with, and what organisers may not change.
type MeetingPolicy struct {
	// LobbyBypass is the default bypass scope of new meetings. Default
	// organization (members and guests bypass; everyone else waits).
	LobbyBypass string `json:"lobby_bypass"`
	// Admitters is the default of who may admit. Default organizers.
	Admitters string `json:"admitters"`
	// AllowAnonymous lets people who are not signed in join meetings (by
	// their link, through the lobby unless bypass is everyone). Default false.
	AllowAnonymous bool `json:"allow_anonymous"`
	// AllowRecording lets organisers record meetings. Default false.
	AllowRecording bool `json:"allow_recording"`
	// LobbyTimeoutMinutes sends away whoever waited this long in a lobby
	// without an answer. Default 15.
	LobbyTimeoutMinutes int `json:"lobby_timeout_minutes"`
}

// Normalized fills what an older stored policy lacks with the defaults.
func (m MeetingPolicy) Normalized() MeetingPolicy {
	if m.LobbyBypass == "" {
		m.LobbyBypass = BypassOrganization
	}
	if m.Admitters == "" {
		m.Admitters = AdmitOrganizers
	}
	if m.LobbyTimeoutMinutes == 0 {
		m.LobbyTimeoutMinutes = 15
	}
	return m
}

// DefaultPolicy is a new tenant's policy.
func DefaultPolicy() Policy {
	return Policy{MFA: MFAPrivileged, SessionIdleMinutes: 8 * 60, SessionAbsoluteHours: 7 * 24, PasswordMinLength: 12,
		Guests:   GuestPolicy{Allowed: true, ExpireDays: 90, EditOwnMessages: true, DeleteOwnMessages: true, StartChats: true, ShareScreen: true},
		External: ExternalPolicy{Allow: []string{}, Block: []string{}},
		Meetings: MeetingPolicy{}.Normalized(),
		Access:   []access.Policy{}, Locations: []access.NamedLocation{}}
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
	case p.Guests.ExpireDays < 0 || p.Guests.ExpireDays > 3650:
		return errs.E(errs.Invalid, "guests.expire_days must be from 0 (never) to 3650.")
	case !slices.Contains(BypassScopes, p.Meetings.Normalized().LobbyBypass):
		return errs.E(errs.Invalid, "meetings.lobby_bypass must be one of %s.", strings.Join(BypassScopes, ", "))
	case !slices.Contains([]string{AdmitOrganizers, AdmitOrganizersAndPresenters}, p.Meetings.Normalized().Admitters):
		return errs.E(errs.Invalid, "meetings.admitters must be organizers or organizersAndPresenters.")
	case p.Meetings.LobbyTimeoutMinutes < 0 || p.Meetings.LobbyTimeoutMinutes > 24*60:
		return errs.E(errs.Invalid, "meetings.lobby_timeout_minutes must be from 1 to 1440 (a day).")
	case p.LockboxPendingHours < 0 || p.LockboxPendingHours > 12:
		return errs.E(errs.Invalid, "lockbox_pending_hours must be from 1 to 12 (or 0 for the longest, 12).")
	case len(p.External.Allow) > 500 || len(p.External.Block) > 500:
		return errs.E(errs.Invalid, "external.allow and external.block hold at most 500 domains each.")
	}
	for _, d := range append(slices.Clone(p.External.Allow), p.External.Block...) {
		if !domainRE.MatchString(d) {
			return errs.E(errs.Invalid, "%q is not a domain such as example.com (lower case).", d)
		}
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

// ErrWouldLockOut refuses a policy change that would block the admin making
// it, unless confirmed.
var ErrWouldLockOut = errs.E(errs.Conflict, "These policies would block your own sign-in from where you are now. Check the named locations and exclusions, or send the change again with confirm set if you really mean it.")

// Policy returns the actor's tenant's identity policy (tenant admins).
func (s *Service) Policy(ctx context.Context, actor principal.Principal) (Policy, error) {
	if !actor.Has(principal.TenantAdmin) {
		return Policy{}, errs.E(errs.Forbidden, "Only a tenant admin can read the sign-in policy.")
	}
	t, err := s.store.TenantByID(ctx, actor.Tenant)
	t.Policy.Meetings = t.Policy.Meetings.Normalized()
	return t.Policy, err
}

// SetPolicy replaces the actor's tenant's identity policy. A policy that
// would block the acting admin's own next sign-in is refused unless
// confirmLockout is set; either way the change is audited.
func (s *Service) SetPolicy(ctx context.Context, actor principal.Principal, p Policy, confirmLockout bool) error {
	if !actor.Has(principal.TenantAdmin) {
		return errs.E(errs.Forbidden, "Only a tenant admin can change the sign-in policy.")
	}
	if p.Access == nil {
		p.Access = []access.Policy{}
	}
	if p.Locations == nil {
		p.Locations = []access.NamedLocation{}
	}
	if err := p.Validate(); err != nil {
		return err
	}
	acct, err := s.store.AccountByID(ctx, actor.User)
	if err != nil {
		return err
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return err
	}
	kinds := factorKinds(factors)
	have := access.Factors{Password: true, MFA: len(kinds) > 0, Passkey: slices.Contains(kinds, FactorPasskey)}
	in := access.Input{Tenant: acct.Tenant, User: acct.ID, Kind: acct.Kind, Roles: acct.Roles, Addr: addrOf(actor.Source), Client: access.Browser, Satisfied: have}
	lockout := access.LockoutCheck(p.Access, p.Locations, in)
	if lockout != nil && !confirmLockout {
		return errs.Wrap(errs.Conflict, lockout, "%s (%s)", ErrWouldLockOut.Message, errs.MessageOf(lockout))
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UpdateTenantPolicy(ctx, acct.Tenant, p); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "policy.update", Target: "tenant:" + string(acct.Tenant),
			Details: map[string]string{"mfa": p.MFA, "access_policies": strconv.Itoa(len(p.Access)), "locations": strconv.Itoa(len(p.Locations)),
				"lockout_confirmed": strconv.FormatBool(lockout != nil)}})
	})
}

// WhatIfRequest describes a sign-in to try against policies.
type WhatIfRequest struct {
	User    ids.UserID `json:"user"`
	Address string     `json:"address"`
	Client  string     `json:"client"`
	MFA     bool       `json:"mfa"`
	Passkey bool       `json:"passkey"`
	// Policy, when given, is evaluated instead of the tenant's current one.
	Policy *Policy `json:"policy,omitempty"`
}

// WhatIf evaluates a sign-in by one of the tenant's accounts against the
// current or a proposed policy, with report-only and disabled policies
// evaluated as if enabled, and returns the decision with its trace.
func (s *Service) WhatIf(ctx context.Context, actor principal.Principal, req WhatIfRequest) (access.Decision, error) {
	pol, err := s.Policy(ctx, actor)
	if err != nil {
		return access.Decision{}, err
	}
	if req.Policy != nil {
		if err := req.Policy.Validate(); err != nil {
			return access.Decision{}, err
		}
		pol = *req.Policy
	}
	acct, err := s.store.AccountByID(ctx, req.User)
	if err != nil || acct.Tenant != actor.Tenant || acct.Realm != TenantRealm {
		return access.Decision{}, errs.E(errs.NotFound, "There is no such account in your organisation.")
	}
	addr, err := netip.ParseAddr(req.Address)
	if err != nil {
		return access.Decision{}, errs.E(errs.Invalid, "Give an IP address such as 203.0.113.9.")
	}
	client := access.ClientKind(orDefault(req.Client, string(access.Browser)))
	if !client.Valid() {
		return access.Decision{}, errs.E(errs.Invalid, "client must be browser or api_token.")
	}
	in := access.Input{Tenant: acct.Tenant, User: acct.ID, Kind: acct.Kind, Roles: acct.Roles, Addr: addr.Unmap(), Client: client,
		Satisfied: access.Factors{Password: true, MFA: req.MFA || req.Passkey, Passkey: req.Passkey}}
	return access.WhatIf(pol.Access, pol.Locations, in), nil
}
