package identity

import (
	"context"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Realm separates tenant accounts from the operator's: an operator can never
// sign into a tenant and a tenant account can never act as operator.
type Realm string

// The realms.
const (
	TenantRealm   Realm = "tenant"
	OperatorRealm Realm = "operator"
)

// Tenant states.
const (
	TenantActive = "active"
)

// Tenant is an organisation.
type Tenant struct {
	ID      ids.TenantID `json:"id"`
	Slug    string       `json:"slug"`
	Name    string       `json:"name"`
	State   string       `json:"state"`
	Policy  Policy       `json:"policy"`
	Domains []string     `json:"domains"`
	Created time.Time    `json:"created"`
}

// Account states.
const (
	AccountActive      = "active"
	AccountDeactivated = "deactivated"
)

// Account is a person's account in a tenant, or an operator's.
type Account struct {
	ID            ids.UserID       `json:"id"`
	Realm         Realm            `json:"realm"`
	Tenant        ids.TenantID     `json:"tenant"`
	Email         string           `json:"email"`
	DisplayName   string           `json:"display_name"`
	Kind          principal.Kind   `json:"kind"` // member, guest or operator
	Roles         []principal.Role `json:"roles"`
	State         string           `json:"state"`
	PasswordHash  string           `json:"-"`
	MFAGraceUntil time.Time        `json:"mfa_grace_until,omitzero"`
	Sponsor       ids.UserID       `json:"sponsor,omitempty"` // guests: who invited them and renews them
	Expires       time.Time        `json:"expires,omitzero"`  // guests: when their access ends unless renewed
	Created       time.Time        `json:"created"`
	Updated       time.Time        `json:"updated"`
}

// Factor kinds.
const (
	FactorTOTP     = "totp"
	FactorPasskey  = "passkey"
	FactorRecovery = "recovery"
)

// Factor is a second factor. Secret is sealed with the tenant's keys.
type Factor struct {
	ID           string     `json:"id"`
	Account      ids.UserID `json:"-"`
	Kind         string     `json:"kind"`
	Name         string     `json:"name"`
	CredentialID []byte     `json:"-"`
	Secret       []byte     `json:"-"` // sealed
	Counter      int64      `json:"-"` // TOTP: last accepted step; passkey: sign count
	Created      time.Time  `json:"created"`
	LastUsed     time.Time  `json:"last_used,omitzero"`
}

// Session states.
const (
	SessionActive     = "active"      // fully signed in
	SessionPendingMFA = "pending_mfa" // password accepted; a second factor is due
	SessionEnrolMFA   = "enrol_mfa"   // signed in only to enrol a second factor
)

// Session is a browser session. The token itself is never stored.
type Session struct {
	ID          string        `json:"id"`
	TokenHash   string        `json:"-"`
	Account     ids.UserID    `json:"-"`
	Tenant      ids.TenantID  `json:"-"`
	State       string        `json:"state"`
	Methods     []string      `json:"methods"` // password, totp, passkey, recovery
	Created     time.Time     `json:"created"`
	LastSeen    time.Time     `json:"last_seen"`
	IdleTimeout time.Duration `json:"-"`
	Expires     time.Time     `json:"expires"`
	Source      string        `json:"source"`
	UserAgent   string        `json:"user_agent"`
	Ended       time.Time     `json:"ended,omitzero"`
	Current     bool          `json:"current,omitempty"` // the session of the request that listed it
}

// Token is a personal access token for the API.
type Token struct {
	ID         string       `json:"id"`
	SecretHash string       `json:"-"`
	Account    ids.UserID   `json:"-"`
	Tenant     ids.TenantID `json:"-"`
	Name       string       `json:"name"`
	Scopes     []string     `json:"scopes"`
	Created    time.Time    `json:"created"`
	Expires    time.Time    `json:"expires"`
	LastUsed   time.Time    `json:"last_used,omitzero"`
	LastSource string       `json:"last_source"`
	Revoked    time.Time    `json:"revoked,omitzero"`
}

// Invitation is a single-use, expiring link bound to an email address.
type Invitation struct {
	ID        string           `json:"id"`
	TokenHash string           `json:"-"`
	Tenant    ids.TenantID     `json:"-"`
	Email     string           `json:"email"`
	Kind      principal.Kind   `json:"kind"`
	Roles     []principal.Role `json:"roles"`
	InvitedBy ids.UserID       `json:"invited_by"`
	Created   time.Time        `json:"created"`
	Expires   time.Time        `json:"expires"`
	Used      time.Time        `json:"used,omitzero"`
}

// SignInEvent is one line of the sign-in log.
type SignInEvent struct {
	ID         string       `json:"id"`
	Tenant     ids.TenantID `json:"-"`
	At         time.Time    `json:"at"`
	Account    ids.UserID   `json:"account,omitempty"`
	Identifier string       `json:"identifier"` // what was typed, normalised
	Source     string       `json:"source"`
	ClientKind string       `json:"client_kind"`
	Result     string       `json:"result"` // success, failure, blocked, mfa_required, throttled
	Reason     string       `json:"reason"`
	Policies   string       `json:"policies"` // JSON trace of conditional access
}

// Tx is what the identity service changes in one transaction. The store's
// transaction implements it, together with the audit appender.
type Tx interface {
	audit.Appender
	InsertTenant(ctx context.Context, t Tenant) error
	UpdateTenantPolicy(ctx context.Context, id ids.TenantID, p Policy) error
	InsertDomain(ctx context.Context, tenant ids.TenantID, domain string, verified time.Time) error
	InsertAccount(ctx context.Context, a Account) error
	UpdateAccount(ctx context.Context, a Account) error
	InsertFactor(ctx context.Context, f Factor) error
	UpdateFactorCounter(ctx context.Context, id string, old, new int64, used time.Time) (bool, error)
	UpdateFactorSecret(ctx context.Context, id string, secret []byte) error
	DeleteFactor(ctx context.Context, account ids.UserID, id string) (bool, error)
	InsertSession(ctx context.Context, s Session) error
	UpdateSession(ctx context.Context, s Session) error
	EndSessions(ctx context.Context, account ids.UserID, except string, at time.Time) (int64, error)
	InsertToken(ctx context.Context, t Token) error
	RevokeToken(ctx context.Context, account ids.UserID, id string, at time.Time) (bool, error)
	InsertInvitation(ctx context.Context, inv Invitation) error
	UseInvitation(ctx context.Context, tokenHash string, at time.Time) (Invitation, error)
	InsertPasswordReset(ctx context.Context, tokenHash string, account ids.UserID, created, expires time.Time) error
	UsePasswordReset(ctx context.Context, tokenHash string, at time.Time) (ids.UserID, error)
	InsertSignIn(ctx context.Context, e SignInEvent) error
	// InsertPasskeyHandle gives an account its WebAuthn user handle
	// (errs.Conflict if it has one).
	InsertPasskeyHandle(ctx context.Context, account ids.UserID, handle []byte, at time.Time) error
	// CompleteSetup uses a first-operator setup token (by hash), refusing
	// one that is unknown, used or expired, and retires every other one.
	CompleteSetup(ctx context.Context, tokenHash string, at time.Time) error
}

// Reader reads identity records outside a transaction.
type Reader interface {
	TenantByID(ctx context.Context, id ids.TenantID) (Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (Tenant, error)
	TenantByDomain(ctx context.Context, domain string) (Tenant, error)
	Tenants(ctx context.Context) ([]Tenant, error)
	AccountByID(ctx context.Context, id ids.UserID) (Account, error)
	AccountByEmail(ctx context.Context, realm Realm, tenant ids.TenantID, email string) (Account, error)
	Accounts(ctx context.Context, realm Realm, tenant ids.TenantID) ([]Account, error)
	Factors(ctx context.Context, account ids.UserID) ([]Factor, error)
	FactorByCredential(ctx context.Context, credentialID []byte) (Factor, error)
	SessionByTokenHash(ctx context.Context, hash string) (Session, error)
	Sessions(ctx context.Context, account ids.UserID) ([]Session, error)
	TokenByID(ctx context.Context, id string) (Token, error)
	Tokens(ctx context.Context, account ids.UserID) ([]Token, error)
	Invitations(ctx context.Context, tenant ids.TenantID) ([]Invitation, error)
	SignIns(ctx context.Context, tenant ids.TenantID, limit int) ([]SignInEvent, error)
	PasskeyHandle(ctx context.Context, account ids.UserID) ([]byte, error)
	AccountByPasskeyHandle(ctx context.Context, handle []byte) (Account, error)
	// CheckSetupToken returns the expiry of an unused, unexpired
	// first-operator setup token.
	CheckSetupToken(ctx context.Context, token string, now time.Time) (time.Time, error)
}

// Store is the identity service's persistence: reads, and updates in one
// transaction together with their audit records.
type Store interface {
	Reader
	Update(ctx context.Context, fn func(tx Tx) error) error
	// TouchToken records a token's last use outside any transaction; it is
	// bookkeeping, not a change worth an audit record.
	TouchToken(ctx context.Context, id string, at time.Time, source string) error
}
