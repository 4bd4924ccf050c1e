package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey"
	"github.com/kaigi/kaigi/internal/identity/throttle"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Passkeys (WebAuthn, user verification required, discoverable credentials)
// serve three ends here:
//
//   - enrolment, by a person managing their own sign-in (a full session, an
//     operator, or a session limited to enrolling a second factor);
//   - sign-in, on their own: a passkey is phishing-resistant MFA, so it
//     satisfies password, MFA and passkey requirements at once; or to
//     complete a password sign-in that waits for a second factor;
//   - proof for a sensitive change (Proof of kind "passkey"): an assertion
//     for a sign-in ceremony, checked to come from one of the actor's own
//     passkeys.
//
// Every ceremony is kept server-side between begin and finish (the
// Ceremonies store), sealed with the service's keys and bound to the
// ceremony's id, and is taken out — once — before its response is checked.

// Purposes of a ceremony.
const (
	purposeEnrol  = "enrol"
	purposeSignIn = "signin"
	purposeSetup  = "operator-setup"
)

// ErrPasskeysUnavailable answers passkey requests on a server whose public
// URL cannot be a WebAuthn relying party.
var ErrPasskeysUnavailable = errs.E(errs.Unavailable, "Passkeys are not available on this server: its public URL must use https (or http://localhost for local use). Ask the operator to set public_url.")

// ErrPasskeyRefused is the answer when a passkey signs in an account that
// cannot sign in (deactivated).
var ErrPasskeyRefused = errs.E(errs.Unauthenticated, "This passkey cannot sign you in. Sign in another way or ask your administrator.")

// Ceremony is a started passkey ceremony: the id the client returns with
// the browser's response, and the options for navigator.credentials.create
// or .get (under "publicKey").
type Ceremony struct {
	ID      string          `json:"ceremony"`
	Options json.RawMessage `json:"options"`
	Expires time.Time       `json:"expires"`
}

// ceremony is what is kept of a started ceremony.
type ceremony struct {
	Purpose     string     `json:"purpose"`
	Account     ids.UserID `json:"account,omitempty"`      // enrol: whose passkey
	Setup       string     `json:"setup,omitempty"`        // operator setup: the setup token's hash
	Email       string     `json:"email,omitempty"`        // operator setup
	DisplayName string     `json:"display_name,omitempty"` // operator setup
	Handle      []byte     `json:"handle,omitempty"`       // operator setup: the new user handle
	State       []byte     `json:"state"`                  // the passkey package's session state
}

// passkeyRecord is what a passkey factor's sealed secret holds.
type passkeyRecord struct {
	RPID       string             `json:"rp_id"`
	Credential passkey.Credential `json:"credential"`
}

// passkeyUse is a verified assertion, not yet recorded: the factor used,
// its counter before and after, and its updated record, sealed.
type passkeyUse struct {
	acct   Account
	factor Factor
	old    int64
	new    int64
	sealed []byte
}

func ceremonyAAD(key string) keys.AAD   { return keys.AAD{Kind: "passkey-ceremony", ID: key} }
func passkeyAAD(factor string) keys.AAD { return keys.AAD{Kind: "passkey", ID: factor} }

// beginCeremony keeps c under a new random ceremony id (stored by its hash)
// and returns the ceremony for the client.
func (s *Service) beginCeremony(ctx context.Context, c ceremony, options json.RawMessage) (Ceremony, error) {
	id := base64.RawURLEncoding.EncodeToString(ids.Token(32))
	key := hashSecret(id)
	b, err := json.Marshal(c)
	if err != nil {
		return Ceremony{}, err
	}
	sealed, err := s.keys.Seal(ctx, ids.ServiceTenant, ceremonyAAD(key), b)
	if err != nil {
		return Ceremony{}, err
	}
	exp := s.clock.Now().Add(s.rp.SessionTTL())
	if err := s.ceremonies.PutPasskeySession(ctx, key, sealed, exp); err != nil {
		return Ceremony{}, err
	}
	return Ceremony{ID: id, Options: options, Expires: exp}, nil
}

// takeCeremony takes a ceremony out of storage, so that it cannot be used
// again, and checks its purpose.
func (s *Service) takeCeremony(ctx context.Context, id, purpose string) (ceremony, error) {
	if id == "" || len(id) > 100 {
		return ceremony{}, passkey.ErrSessionNotFound
	}
	key := hashSecret(id)
	sealed, err := s.ceremonies.TakePasskeySession(ctx, key)
	if err != nil {
		return ceremony{}, err
	}
	plain, err := s.keys.Open(ctx, ids.ServiceTenant, ceremonyAAD(key), sealed)
	if err != nil {
		return ceremony{}, fmt.Errorf("open passkey ceremony: %w: %w", passkey.ErrSessionInvalid, err)
	}
	var c ceremony
	if err := json.Unmarshal(plain, &c); err != nil {
		return ceremony{}, fmt.Errorf("decode passkey ceremony: %w: %w", passkey.ErrSessionInvalid, err)
	}
	if c.Purpose != purpose {
		return ceremony{}, fmt.Errorf("passkey ceremony for %q used for %q: %w", c.Purpose, purpose, passkey.ErrSessionInvalid)
	}
	return c, nil
}

// ensureHandle returns the account's WebAuthn user handle, drawing one the
// first time: random, stable for the life of the account, never the email.
func (s *Service) ensureHandle(ctx context.Context, acct Account) ([]byte, error) {
	h, err := s.store.PasskeyHandle(ctx, acct.ID)
	if err == nil || !errs.Is(err, errs.NotFound) {
		return h, err
	}
	h = passkey.NewUserHandle()
	err = s.store.Update(ctx, func(tx Tx) error { return tx.InsertPasskeyHandle(ctx, acct.ID, h, s.clock.Now()) })
	if errs.Is(err, errs.Conflict) { // drawn by a concurrent request
		return s.store.PasskeyHandle(ctx, acct.ID)
	}
	return h, err
}

// passkeyUser returns acct as WebAuthn sees it, with its passkeys for this
// relying party, and the factor of each passkey by credential id. The sign
// count is the factor's counter, which is what compare-and-set guards.
func (s *Service) passkeyUser(ctx context.Context, acct Account, handle []byte) (*passkey.User, map[string]Factor, error) {
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return nil, nil, err
	}
	u := &passkey.User{Handle: handle, Tenant: acct.Tenant, ID: acct.ID, Name: acct.Email, DisplayName: acct.DisplayName}
	byCred := map[string]Factor{}
	for _, f := range factors {
		if f.Kind != FactorPasskey {
			continue
		}
		raw, err := s.keys.Open(ctx, keyTenant(acct), passkeyAAD(f.ID), f.Secret)
		if err != nil {
			return nil, nil, err
		}
		var rec passkeyRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, nil, fmt.Errorf("passkey factor %s: %w", f.ID, err)
		}
		if rec.RPID != s.rp.RPID() {
			continue // registered under another RP ID: it cannot sign here
		}
		rec.Credential.SignCount = uint32(f.Counter)
		u.Credentials = append(u.Credentials, rec.Credential)
		byCred[string(rec.Credential.ID)] = f
	}
	return u, byCred, nil
}

// sealRecord seals a passkey factor's record for factor id.
func (s *Service) sealRecord(ctx context.Context, acct Account, id string, cred passkey.Credential) ([]byte, error) {
	b, err := json.Marshal(passkeyRecord{RPID: s.rp.RPID(), Credential: cred})
	if err != nil {
		return nil, err
	}
	return s.keys.Seal(ctx, keyTenant(acct), passkeyAAD(id), b)
}

// BeginPasskeyEnrolment starts registering a passkey for the actor.
func (s *Service) BeginPasskeyEnrolment(ctx context.Context, actor principal.Principal) (Ceremony, error) {
	if s.rp == nil {
		return Ceremony{}, ErrPasskeysUnavailable
	}
	acct, err := s.self(ctx, actor)
	if err != nil {
		return Ceremony{}, err
	}
	handle, err := s.ensureHandle(ctx, acct)
	if err != nil {
		return Ceremony{}, err
	}
	user, _, err := s.passkeyUser(ctx, acct, handle)
	if err != nil {
		return Ceremony{}, err
	}
	options, state, err := s.rp.BeginRegistration(user)
	if err != nil {
		return Ceremony{}, err
	}
	return s.beginCeremony(ctx, ceremony{Purpose: purposeEnrol, Account: acct.ID, State: state}, options)
}

// FinishPasskeyEnrolment verifies the browser's response to an enrolment
// ceremony and adds the passkey as a second factor named name. As with an
// authenticator app: when the account already has second factors, proof of
// one is required (a TOTP or recovery code, or a passkey assertion), and a
// session limited to enrolment becomes a full session, whose new token is
// returned.
func (s *Service) FinishPasskeyEnrolment(ctx context.Context, actor principal.Principal, ceremonyID, name string, response []byte, proof *Proof) (Factor, string, error) {
	if s.rp == nil {
		return Factor{}, "", ErrPasskeysUnavailable
	}
	acct, err := s.self(ctx, actor)
	if err != nil {
		return Factor{}, "", err
	}
	if name, err = checkName(orDefault(name, "Passkey")); err != nil {
		return Factor{}, "", err
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return Factor{}, "", err
	}
	if len(factors) > 0 && proofMissing(proof) {
		return Factor{}, "", errProofRequired // before the ceremony is used up
	}
	c, err := s.takeCeremony(ctx, ceremonyID, purposeEnrol)
	if err != nil {
		return Factor{}, "", err
	}
	if c.Account != acct.ID {
		return Factor{}, "", passkey.ErrSessionMismatch
	}
	handle, err := s.store.PasskeyHandle(ctx, acct.ID)
	if err != nil {
		return Factor{}, "", err
	}
	user, _, err := s.passkeyUser(ctx, acct, handle)
	if err != nil {
		return Factor{}, "", err
	}
	cred, err := s.rp.FinishRegistration(user, c.State, response)
	if err != nil {
		s.log.InfoContext(ctx, "passkey registration refused", "account", string(acct.ID), "err", err)
		return Factor{}, "", err
	}
	if len(factors) > 0 {
		if err := s.verifyPasskeyProof(ctx, acct, proof); err != nil {
			return Factor{}, "", err
		}
	}
	cred.Name = name
	f := Factor{ID: ids.New(), Account: acct.ID, Kind: FactorPasskey, Name: name, CredentialID: cred.ID, Counter: int64(cred.SignCount), Created: s.clock.Now()}
	if f.Secret, err = s.sealRecord(ctx, acct, f.ID, cred); err != nil {
		return Factor{}, "", err
	}
	token, err := s.addFactor(ctx, actor, acct, factors, proof, f,
		map[string]string{"kind": FactorPasskey, "backup_eligible": fmt.Sprint(cred.BackupEligible), "attachment": cred.Attachment})
	if err != nil {
		return Factor{}, "", err
	}
	return f, token, nil
}

// BeginPasskeySignIn starts a discoverable passkey sign-in: no account is
// named; the passkey the person picks names it. The same ceremony serves as
// a passkey proof (Proof of kind "passkey").
func (s *Service) BeginPasskeySignIn(ctx context.Context) (Ceremony, error) {
	if s.rp == nil {
		return Ceremony{}, ErrPasskeysUnavailable
	}
	options, state, err := s.rp.BeginLogin(nil)
	if err != nil {
		return Ceremony{}, err
	}
	return s.beginCeremony(ctx, ceremony{Purpose: purposeSignIn, State: state}, options)
}

// FinishPasskeySignIn verifies the browser's response to a sign-in
// ceremony. It finds the account by the passkey's user handle, checks that
// it is active and records the passkey's new signature counter (refusing,
// and auditing, a counter that went back: a possible clone). Then:
//
//   - if the actor's session waits for a second factor of the same
//     account, that sign-in is completed (conditional access evaluated with
//     password, MFA and passkey satisfied);
//   - otherwise a tenant account signs in as with a password, with password,
//     MFA and passkey satisfied, through conditional access and the
//     sign-in log; an operator gets an operator session.
//
// Failures are counted per source address, as password failures are.
func (s *Service) FinishPasskeySignIn(ctx context.Context, actor principal.Principal, ceremonyID string, response []byte, userAgent string) (SignInResult, error) {
	if s.rp == nil {
		return SignInResult{}, ErrPasskeysUnavailable
	}
	srcKey := throttle.Source(addrOf(actor.Source))
	event := SignInEvent{ID: ids.New(), At: s.clock.Now(), Identifier: "passkey", Source: actor.Source, ClientKind: string(access.Browser), Policies: "[]"}
	if d, err := s.limiter.Check(ctx, srcKey); err != nil {
		return SignInResult{}, err
	} else if !d.Allowed {
		event.Result, event.Reason = "throttled", fmt.Sprintf("too many failed attempts from this address; retry in %s", d.RetryAfter.Round(time.Second))
		s.logSignIn(ctx, event)
		return SignInResult{}, rateLimited(d)
	}
	fail := func(acct Account, reason string, cause error) (SignInResult, error) {
		if acct.ID != "" {
			event.Account, event.Identifier = acct.ID, acct.Email
			if acct.Realm == TenantRealm {
				event.Tenant = acct.Tenant
			}
		}
		event.Result, event.Reason = "failure", reason
		s.logSignIn(ctx, event)
		d, err := s.limiter.Fail(ctx, srcKey)
		if err != nil {
			return SignInResult{}, err
		}
		if d.Locked {
			return SignInResult{}, rateLimited(d)
		}
		return SignInResult{}, cause
	}

	use, err := s.assertPasskey(ctx, ceremonyID, response, nil)
	if err != nil {
		if errors.Is(err, passkey.ErrPossibleClone) {
			s.recordClone(ctx, use, actor.Source)
		}
		return fail(use.acct, "passkey refused: "+errs.MessageOf(err), err)
	}
	acct := use.acct
	if acct.State != AccountActive {
		return fail(acct, "account deactivated", ErrPasskeyRefused)
	}
	if err := s.store.Update(ctx, func(tx Tx) error { return s.applyPasskeyUse(ctx, tx, use) }); err != nil {
		if errors.Is(err, passkey.ErrPossibleClone) {
			s.recordClone(ctx, use, actor.Source)
			return fail(acct, "passkey refused: signature counter raced another sign-in", err)
		}
		return SignInResult{}, err
	}
	if err := s.limiter.Succeed(ctx, srcKey); err != nil {
		return SignInResult{}, err
	}
	event.Account, event.Identifier = acct.ID, acct.Email
	if acct.Realm == OperatorRealm {
		return s.startOperatorSession(ctx, acct, actor.Source, userAgent, event)
	}
	t, err := s.store.TenantByID(ctx, acct.Tenant)
	if err != nil {
		return SignInResult{}, err
	}
	event.Tenant = t.ID
	have := access.Factors{Password: true, MFA: true, Passkey: true}
	if actor.Pending == SessionPendingMFA && actor.User == acct.ID && actor.Session != "" {
		return s.completeWithPasskey(ctx, actor, t, acct, have, userAgent, event)
	}
	return s.startSession(ctx, t, acct, have, []string{FactorPasskey}, actor.Source, userAgent, event)
}

// completeWithPasskey completes a sign-in that waits for a second factor.
func (s *Service) completeWithPasskey(ctx context.Context, actor principal.Principal, t Tenant, acct Account, have access.Factors, userAgent string, event SignInEvent) (SignInResult, error) {
	d := s.evaluate(t, acct, actor.Source, access.Browser, have)
	event.Policies = traceJSON(d)
	if d.Outcome == access.Block {
		event.Result, event.Reason = "blocked", "blocked by conditional access: "+blockingPolicies(d)
		s.logSignIn(ctx, event)
		return SignInResult{}, errs.E(errs.Forbidden, "Your organisation's sign-in policy does not allow this sign-in (%s). Contact your administrator if you think this is wrong.", blockingPolicies(d))
	}
	var token string
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		token, err = s.upgradeSession(ctx, tx, actor, FactorPasskey)
		return err
	})
	if err != nil {
		return SignInResult{}, err
	}
	event.Result, event.Reason = "success", "signed in with password and passkey"
	s.logSignIn(ctx, event)
	sess := Session{ID: actor.Session, Account: acct.ID, Tenant: acct.Tenant, State: SessionActive, Source: actor.Source, UserAgent: userAgent}
	return SignInResult{Token: token, Session: sess, State: SessionActive}, nil
}

// startOperatorSession starts a full session for an operator: no tenant,
// no tenant policy, the default lifetimes.
func (s *Service) startOperatorSession(ctx context.Context, acct Account, source, userAgent string, event SignInEvent) (SignInResult, error) {
	sess, token := s.newSession(acct, DefaultPolicy(), SessionActive, []string{FactorPasskey}, source, userAgent)
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.InsertSession(ctx, sess) }); err != nil {
		return SignInResult{}, err
	}
	event.Result, event.Reason = "success", "operator signed in with passkey"
	s.logSignIn(ctx, event)
	return SignInResult{Token: token, Session: sess, State: SessionActive}, nil
}

// assertPasskey takes a sign-in ceremony and verifies the browser's
// response to it, finding the account by the passkey's user handle — only
// the account only, when given. On failure the returned use carries the
// account when it was found, for the sign-in log.
func (s *Service) assertPasskey(ctx context.Context, ceremonyID string, response []byte, only *Account) (passkeyUse, error) {
	c, err := s.takeCeremony(ctx, ceremonyID, purposeSignIn)
	if err != nil {
		return passkeyUse{}, err
	}
	var use passkeyUse
	var byCred map[string]Factor
	users := passkey.UsersFunc(func(ctx context.Context, handle []byte) (*passkey.User, error) {
		acct, err := s.store.AccountByPasskeyHandle(ctx, handle)
		if err != nil {
			return nil, err
		}
		if only != nil && acct.ID != only.ID {
			return nil, errs.E(errs.NotFound, "Not this account's passkey.")
		}
		user, m, err := s.passkeyUser(ctx, acct, handle)
		if err != nil {
			return nil, err
		}
		use.acct, byCred = acct, m
		return user, nil
	})
	login, err := s.rp.FinishLogin(ctx, users, c.State, response)
	if login.User != nil {
		use.factor = byCred[string(login.Credential.ID)]
	}
	if err != nil {
		return use, err
	}
	use.old, use.new = use.factor.Counter, int64(login.Credential.SignCount)
	if use.sealed, err = s.sealRecord(ctx, use.acct, use.factor.ID, login.Credential); err != nil {
		return use, err
	}
	return use, nil
}

// applyPasskeyUse records a verified assertion within tx: the counter moves
// from what it was when the assertion was checked, or the assertion is
// refused as a possible clone (another sign-in moved it meanwhile).
func (s *Service) applyPasskeyUse(ctx context.Context, tx Tx, use passkeyUse) error {
	ok, err := tx.UpdateFactorCounter(ctx, use.factor.ID, use.old, use.new, s.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("passkey %s: counter moved from %d meanwhile: %w", use.factor.ID, use.old, passkey.ErrPossibleClone)
	}
	return tx.UpdateFactorSecret(ctx, use.factor.ID, use.sealed)
}

// recordClone audits a passkey whose signature counter did not increase, in
// the account's tenant's log (the service's for operators).
func (s *Service) recordClone(ctx context.Context, use passkeyUse, source string) {
	if use.acct.ID == "" {
		return
	}
	actor := principal.Anon(source)
	actor.User = use.acct.ID
	tenant := use.acct.Tenant
	if use.acct.Realm == OperatorRealm {
		tenant = ids.ServiceTenant
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		return s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: tenant, Action: "mfa.passkey_clone_suspected", Target: "factor:" + use.factor.ID,
			Result: audit.Denied, Details: map[string]string{"account": string(use.acct.ID), "stored_sign_count": fmt.Sprint(use.factor.Counter)}})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit of a suspected passkey clone failed", "err", err)
	}
	s.log.WarnContext(ctx, "passkey signature counter did not increase: possible clone", "account", string(use.acct.ID), "factor", use.factor.ID)
}

// verifyPasskeyProof checks a passkey proof before the transaction that
// uses it (prove records it): the assertion must answer a sign-in ceremony
// and come from one of acct's passkeys. Other kinds of proof pass through.
func (s *Service) verifyPasskeyProof(ctx context.Context, acct Account, proof *Proof) error {
	if proof == nil || proof.Kind != FactorPasskey {
		return nil
	}
	if s.rp == nil {
		return ErrPasskeysUnavailable
	}
	if err := s.throttled(ctx, acct, "second-factor"); err != nil {
		return err
	}
	use, err := s.assertPasskey(ctx, proof.Ceremony, proof.Credential, &acct)
	s.done(ctx, acct, "second-factor", err == nil)
	if err != nil {
		if errors.Is(err, passkey.ErrPossibleClone) {
			s.recordClone(ctx, use, "")
		}
		return err
	}
	proof.passkey = &use
	return nil
}
