// Package principal says who is acting.
//
// Every request and every job acts as exactly one Principal: an anonymous
// visitor, a member or guest of one tenant (possibly holding roles such as
// tenant admin or compliance officer), an operator of the service (possibly
// holding a lockbox grant for one tenant), or a system job. Tenant-scoped
// principals are bound to one tenant, and that binding comes from the
// authenticated session or token, never from the request.
//
// Authorization decisions are Policies: functions of the principal that allow
// or refuse. The HTTP layer refuses to register a route without one.
package principal

import (
	"context"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// Kind is the kind of actor.
type Kind string

// The kinds of actor.
const (
	Anonymous Kind = "anonymous"
	Member    Kind = "member"
	Guest     Kind = "guest"
	Operator  Kind = "operator"
	System    Kind = "system"
)

// Role is a privilege within a tenant, held by a member.
type Role string

// The tenant roles.
const (
	TenantAdmin       Role = "tenant_admin"
	ComplianceOfficer Role = "compliance_officer"
	LockboxApprover   Role = "lockbox_approver"
)

// Grant is a lockbox grant an operator acts under: tenant-approved access to
// named resources of one tenant until it expires.
type Grant struct {
	ID        string
	Tenant    ids.TenantID
	Resources []string
	Expires   time.Time
}

// Principal is an authenticated actor.
type Principal struct {
	Kind    Kind
	Tenant  ids.TenantID // the tenant the principal is bound to; empty for operators without a grant and anonymous
	User    ids.UserID   // the account; the job's name for System
	Roles   []Role
	Grant   *Grant // operators only: the lockbox grant in force, if any
	Session string // the session or token id that authenticated the request
	Source  string // the source address, for the audit log
	// Client is how the request authenticated: "browser" (a session
	// cookie) or "api_token" (a personal access token); empty otherwise.
	Client string
	// Scopes limit what an API token may do; empty for sessions.
	Scopes []string
	// Pending is set on an anonymous principal whose session is only part
	// way through sign-in: "pending_mfa" (a second factor is due) or
	// "enrol_mfa" (a second factor must be enrolled first).
	Pending string
}

// Has reports whether p holds role r. Only members hold roles.
func (p Principal) Has(r Role) bool {
	if p.Kind != Member {
		return false
	}
	for _, have := range p.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// IsTenantUser reports whether p is a member or guest of a tenant.
func (p Principal) IsTenantUser() bool {
	return (p.Kind == Member || p.Kind == Guest) && p.Tenant != ""
}

// ActorKind is the kind recorded in the audit log: the principal's kind, or
// its most privileged role for members.
func (p Principal) ActorKind() string {
	switch {
	case p.Kind == Operator && p.Grant != nil:
		return "operator_with_grant"
	case p.Has(TenantAdmin):
		return string(TenantAdmin)
	case p.Has(ComplianceOfficer):
		return string(ComplianceOfficer)
	}
	return string(p.Kind)
}

// Anon is the principal of a request without credentials.
func Anon(source string) Principal { return Principal{Kind: Anonymous, Source: source} }

// Job returns the principal of a system job acting on tenant (empty for
// service-wide jobs).
func Job(name string, tenant ids.TenantID) Principal {
	return Principal{Kind: System, Tenant: tenant, User: ids.UserID(name)}
}

type ctxKey struct{}

// With returns a context carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal in ctx, or an anonymous one.
func From(ctx context.Context) Principal {
	if p, ok := ctx.Value(ctxKey{}).(Principal); ok {
		return p
	}
	return Principal{Kind: Anonymous}
}

// Policy is an authorization decision: nil allows, an *errs.Error refuses.
type Policy struct {
	// Name describes the decision for the route table and the OpenAPI document,
	// for example "tenant member" or "role tenant_admin".
	Name  string
	Allow func(p Principal) error
}

var (
	errSignIn = errs.E(errs.Unauthenticated, "Please sign in.")
	errDenied = errs.E(errs.Forbidden, "You do not have permission to do this.")
)

// Public allows everyone, signed in or not. It is still an explicit decision.
var Public = Policy{Name: "public", Allow: func(Principal) error { return nil }}

// TenantUser allows members and guests of a tenant.
var TenantUser = Policy{Name: "tenant member or guest", Allow: func(p Principal) error {
	if p.IsTenantUser() {
		return nil
	}
	if p.Kind == Anonymous {
		return errSignIn
	}
	return errDenied
}}

// TenantMember allows members of a tenant, not guests.
var TenantMember = Policy{Name: "tenant member", Allow: func(p Principal) error {
	if p.Kind == Member && p.Tenant != "" {
		return nil
	}
	if p.Kind == Anonymous {
		return errSignIn
	}
	return errDenied
}}

// HasRole allows members of a tenant who hold role r.
func HasRole(r Role) Policy {
	return Policy{Name: "role " + string(r), Allow: func(p Principal) error {
		if p.Tenant != "" && p.Has(r) {
			return nil
		}
		if p.Kind == Anonymous {
			return errSignIn
		}
		return errDenied
	}}
}

// OperatorOnly allows operators of the service (with or without a grant).
var OperatorOnly = Policy{Name: "operator", Allow: func(p Principal) error {
	if p.Kind == Operator {
		return nil
	}
	if p.Kind == Anonymous {
		return errSignIn
	}
	return errDenied
}}

// SystemOnly allows system jobs.
var SystemOnly = Policy{Name: "system", Allow: func(p Principal) error {
	if p.Kind == System {
		return nil
	}
	return errDenied
}}

// PendingSecondFactor allows a session whose sign-in waits for a second factor.
var PendingSecondFactor = Policy{Name: "sign-in waiting for a second factor", Allow: func(p Principal) error {
	if p.Pending == "pending_mfa" && p.Session != "" {
		return nil
	}
	return refuse(p)
}}

// SelfService allows a person managing their own sign-in: a member or guest
// signed in with a browser session, an operator, or a session limited to
// enrolling a second factor.
var SelfService = Policy{Name: "own account (browser session, or enrolling a second factor)", Allow: func(p Principal) error {
	switch {
	case p.IsTenantUser() && p.Client == "browser", p.Kind == Operator && p.Client == "browser", p.Pending == "enrol_mfa" && p.Session != "":
		return nil
	}
	return refuse(p)
}}

// AnySession allows whoever holds a session, complete or not (to sign out).
var AnySession = Policy{Name: "any session", Allow: func(p Principal) error {
	if p.Session != "" && p.Client != "api_token" {
		return nil
	}
	return refuse(p)
}}

// refuse picks the refusal for p: "sign in" for the anonymous, else "denied".
func refuse(p Principal) error {
	if p.Kind == Anonymous && p.Pending == "" {
		return errSignIn
	}
	return errDenied
}

// TenantBrowser allows members and guests signed in with a browser session
// (not an API token): for changes to how one signs in.
var TenantBrowser = Policy{Name: "tenant member or guest, browser session", Allow: func(p Principal) error {
	if p.IsTenantUser() && p.Client == "browser" {
		return nil
	}
	return refuse(p)
}}
