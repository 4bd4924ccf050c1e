package identity

import (
	"context"
	"crypto/subtle"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// The operator realm. Operator accounts live in the accounts of the
// service's pseudo-tenant (ids.ServiceTenant) with realm "operator". They
// have no password and sign in only with a passkey (FinishPasskeySignIn);
// their sessions carry no tenant, so they never hold tenant roles.
//
// The first operator is created through the one-time setup link printed at
// start: BeginOperatorSetup and FinishOperatorSetup register their passkey,
// create the account and sign them in, and use up the link — and every
// other outstanding link, since once an operator exists set-up is over and
// setup links are refused.

// ErrAlreadySetUp refuses a setup link once an operator exists.
var ErrAlreadySetUp = errs.E(errs.Conflict, "Kaigi is already set up, so setup links no longer work. Operators sign in with their passkey.")

// errSetupTokenMalformed refuses an empty or oversized setup token.
var errSetupTokenMalformed = errs.E(errs.Invalid, "The setup token is missing or malformed; copy the whole setup link printed at start-up.")

// SetUp reports whether an operator account exists.
func (s *Service) SetUp(ctx context.Context) (bool, error) {
	ops, err := s.store.Accounts(ctx, OperatorRealm, ids.ServiceTenant)
	return len(ops) > 0, err
}

// CheckSetup returns the expiry of a setup token that can still create the
// first operator: unused, unexpired, and no operator exists yet.
func (s *Service) CheckSetup(ctx context.Context, token string) (time.Time, error) {
	if token == "" || len(token) > 128 {
		return time.Time{}, errSetupTokenMalformed
	}
	done, err := s.SetUp(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if done {
		return time.Time{}, ErrAlreadySetUp
	}
	return s.store.CheckSetupToken(ctx, token, s.clock.Now())
}

// BeginOperatorSetup starts registering the first operator's passkey with a
// setup link's token. Nothing is stored but the ceremony, which remembers
// the token (by hash), the email address and the name.
func (s *Service) BeginOperatorSetup(ctx context.Context, token, email, displayName string) (Ceremony, error) {
	if s.rp == nil {
		return Ceremony{}, ErrPasskeysUnavailable
	}
	if _, err := s.CheckSetup(ctx, token); err != nil {
		return Ceremony{}, err
	}
	email, err := NormaliseEmail(email)
	if err != nil {
		return Ceremony{}, err
	}
	name, err := checkName(displayName)
	if err != nil {
		return Ceremony{}, err
	}
	handle := passkey.NewUserHandle()
	options, state, err := s.rp.BeginRegistration(&passkey.User{Handle: handle, Tenant: ids.ServiceTenant, Name: email, DisplayName: name})
	if err != nil {
		return Ceremony{}, err
	}
	return s.beginCeremony(ctx, ceremony{Purpose: purposeSetup, Setup: hashSecret(token), Email: email, DisplayName: name, Handle: handle, State: state}, options)
}

// FinishOperatorSetup verifies the browser's response to a setup ceremony
// begun with the same token, then, in one transaction: uses up the setup
// link (and retires every other), creates the operator account with the
// passkey as its only credential, and starts an operator session, whose
// token it returns. It is audited in the service's log.
func (s *Service) FinishOperatorSetup(ctx context.Context, token, ceremonyID string, response []byte, source, userAgent string) (SignInResult, error) {
	if s.rp == nil {
		return SignInResult{}, ErrPasskeysUnavailable
	}
	if _, err := s.CheckSetup(ctx, token); err != nil {
		return SignInResult{}, err
	}
	c, err := s.takeCeremony(ctx, ceremonyID, purposeSetup)
	if err != nil {
		return SignInResult{}, err
	}
	if subtle.ConstantTimeCompare([]byte(c.Setup), []byte(hashSecret(token))) != 1 {
		return SignInResult{}, passkey.ErrSessionInvalid
	}
	cred, err := s.rp.FinishRegistration(&passkey.User{Handle: c.Handle, Tenant: ids.ServiceTenant, Name: c.Email, DisplayName: c.DisplayName}, c.State, response)
	if err != nil {
		s.log.InfoContext(ctx, "operator passkey registration refused", "err", err)
		return SignInResult{}, err
	}
	now := s.clock.Now()
	acct := Account{ID: ids.NewUser(), Realm: OperatorRealm, Tenant: ids.ServiceTenant, Email: c.Email, DisplayName: c.DisplayName,
		Kind: principal.Operator, Roles: []principal.Role{}, State: AccountActive, Created: now, Updated: now}
	cred.Name = "Passkey"
	f := Factor{ID: ids.New(), Account: acct.ID, Kind: FactorPasskey, Name: cred.Name, CredentialID: cred.ID, Counter: int64(cred.SignCount), Created: now}
	if f.Secret, err = s.sealRecord(ctx, acct, f.ID, cred); err != nil {
		return SignInResult{}, err
	}
	sess, sessionToken := s.newSession(acct, DefaultPolicy(), SessionActive, []string{FactorPasskey}, source, userAgent)
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.CompleteSetup(ctx, hashSecret(token), now); err != nil {
			return err
		}
		if done, err := s.SetUp(ctx); err != nil {
			return err
		} else if done {
			return ErrAlreadySetUp
		}
		if err := tx.InsertAccount(ctx, acct); err != nil {
			return err
		}
		if err := tx.InsertPasskeyHandle(ctx, acct.ID, c.Handle, now); err != nil {
			return err
		}
		if err := tx.InsertFactor(ctx, f); err != nil {
			return err
		}
		if err := tx.InsertSession(ctx, sess); err != nil {
			return err
		}
		actor := principalOf(acct, sess.ID, source, "browser")
		if err := s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: ids.ServiceTenant, Action: "operator.create", Target: "account:" + string(acct.ID),
			Details: map[string]string{"email": acct.Email, "via": "setup_link"}}); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: ids.ServiceTenant, Action: "mfa.enrol", Target: "factor:" + f.ID,
			Details: map[string]string{"kind": FactorPasskey}})
	})
	if err != nil {
		return SignInResult{}, err
	}
	s.logSignIn(ctx, SignInEvent{ID: ids.New(), At: now, Account: acct.ID, Identifier: acct.Email, Source: source, ClientKind: string(access.Browser),
		Result: "success", Reason: "first operator set up; signed in with passkey", Policies: "[]"})
	return SignInResult{Token: sessionToken, Session: sess, State: SessionActive}, nil
}

// Tenants lists every tenant, for operators (and system jobs).
func (s *Service) Tenants(ctx context.Context, actor principal.Principal) ([]Tenant, error) {
	if actor.Kind != principal.Operator && actor.Kind != principal.System {
		return nil, errs.E(errs.Forbidden, "Only an operator can list tenants.")
	}
	return s.store.Tenants(ctx)
}

// AddDomain adds a verified domain to a tenant: its people's addresses then
// count as members, not outsiders. Operators do it once the customer has
// shown control of the domain; it is audited in the operator's log and the
// tenant's.
func (s *Service) AddDomain(ctx context.Context, actor principal.Principal, tenant ids.TenantID, domain string) (Tenant, error) {
	if actor.Kind != principal.Operator && actor.Kind != principal.System {
		return Tenant{}, errs.E(errs.Forbidden, "Only an operator can add domains.")
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	if !domainRE.MatchString(domain) {
		return Tenant{}, errs.E(errs.Invalid, "Give an email domain, such as example.com.")
	}
	t, err := s.store.TenantByID(ctx, tenant)
	if err != nil {
		return Tenant{}, errs.E(errs.NotFound, "There is no such tenant.")
	}
	if slices.Contains(t.Domains, domain) {
		return t, nil
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertDomain(ctx, t.ID, domain, s.clock.Now()); err != nil {
			return err
		}
		for _, log := range []ids.TenantID{ids.ServiceTenant, t.ID} {
			if err := s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: log, Action: "tenant.domain_add", Target: "tenant:" + string(t.ID),
				Details: map[string]string{"domain": domain}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Tenant{}, err
	}
	return s.store.TenantByID(ctx, t.ID)
}
