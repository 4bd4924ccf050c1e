package identity

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/identity/mfa/recovery"
	"github.com/kaigi/kaigi/internal/identity/mfa/totp"
	"github.com/kaigi/kaigi/internal/identity/throttle"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// totpEnrolLifetime bounds how long a started TOTP enrolment can be confirmed.
const totpEnrolLifetime = 10 * time.Minute

// keyTenant is the tenant whose keys seal an account's secrets: its own, or
// the service's for operators.
func keyTenant(a Account) ids.TenantID {
	if a.Realm == OperatorRealm {
		return ids.ServiceTenant
	}
	return a.Tenant
}

// Proof is a second factor presented to confirm a sensitive change: a TOTP
// or recovery code, or a passkey assertion — the browser's response
// (Credential) to a sign-in ceremony (BeginPasskeySignIn) — which must come
// from one of the account's own passkeys.
type Proof struct {
	Kind       string          `json:"kind"` // totp, recovery or passkey
	Code       string          `json:"code"`
	Ceremony   string          `json:"ceremony,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`

	passkey *passkeyUse // a verified assertion (verifyPasskeyProof), for prove to record
}

// errProofRequired refuses a sensitive change that comes without proof.
var errProofRequired = errs.E(errs.Forbidden, "Confirm this change with a code from your authenticator app, a recovery code or one of your passkeys.")

// proofMissing reports a proof with nothing to check.
func proofMissing(p *Proof) bool {
	return p == nil || (p.Code == "" && len(p.Credential) == 0)
}

// TOTPEnrolment is a started TOTP enrolment. Pending is the secret sealed to
// the account and the enrolment's expiry: the client returns it with the
// first code, and nothing is stored until then.
type TOTPEnrolment struct {
	URL       string    `json:"otpauth_url"`
	ManualKey string    `json:"manual_key"`
	QRCodePNG []byte    `json:"qr_code_png"`
	Pending   string    `json:"pending"`
	Expires   time.Time `json:"expires"`
}

// self loads the actor's account, for the self-service factor routes: a
// full tenant session, or a session limited to enrolment.
func (s *Service) self(ctx context.Context, actor principal.Principal) (Account, error) {
	if actor.User == "" || (actor.Kind == principal.Anonymous && actor.Pending != SessionEnrolMFA) {
		return Account{}, errs.E(errs.Unauthenticated, "Please sign in.")
	}
	return s.store.AccountByID(ctx, actor.User)
}

// BeginTOTP starts enrolling an authenticator app.
func (s *Service) BeginTOTP(ctx context.Context, actor principal.Principal) (TOTPEnrolment, error) {
	acct, err := s.self(ctx, actor)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	e, err := totp.Enrol(acct.Email)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	png, err := e.QRCodePNG(256)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	exp := s.clock.Now().Add(totpEnrolLifetime)
	plain := binary.BigEndian.AppendUint64(nil, uint64(exp.Unix()))
	plain = append(plain, totp.ExportSecret(e.Secret())...)
	sealed, err := s.keys.Seal(ctx, keyTenant(acct), keys.AAD{Kind: "totp-enrolment", ID: string(acct.ID)}, plain)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{URL: e.URL(), ManualKey: e.ManualKey(), QRCodePNG: png, Pending: base64.RawURLEncoding.EncodeToString(sealed), Expires: exp}, nil
}

// ConfirmTOTP finishes an enrolment with the first code from the app. When
// the account already has second factors, proof must verify against one of
// them. A session that was limited to enrolment becomes a full session, and
// the returned token (new: the privilege changed) replaces the old one.
func (s *Service) ConfirmTOTP(ctx context.Context, actor principal.Principal, pending, name, code string, proof *Proof) (Factor, string, error) {
	acct, err := s.self(ctx, actor)
	if err != nil {
		return Factor{}, "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(pending)
	if err != nil || len(pending) > 4096 {
		return Factor{}, "", errs.E(errs.Invalid, "The enrolment is malformed; start again.")
	}
	plain, err := s.keys.Open(ctx, keyTenant(acct), keys.AAD{Kind: "totp-enrolment", ID: string(acct.ID)}, raw)
	if err != nil || len(plain) < 9 {
		return Factor{}, "", errs.E(errs.Invalid, "The enrolment is not valid for this account; start again.")
	}
	if s.clock.Now().Unix() > int64(binary.BigEndian.Uint64(plain)) {
		return Factor{}, "", errs.E(errs.Invalid, "The enrolment expired; start again.")
	}
	secret, err := totp.ImportSecret(plain[8:])
	if err != nil {
		return Factor{}, "", err
	}
	if err := s.throttled(ctx, acct, "totp-enrol"); err != nil {
		return Factor{}, "", err
	}
	step, err := totp.NewVerifier(s.clock).Verify(secret, code, 0)
	s.done(ctx, acct, "totp-enrol", err == nil)
	if err != nil {
		return Factor{}, "", err
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return Factor{}, "", err
	}
	if name, err = checkName(orDefault(name, "Authenticator app")); err != nil {
		return Factor{}, "", err
	}
	now := s.clock.Now()
	f := Factor{ID: ids.New(), Account: acct.ID, Kind: FactorTOTP, Name: name, Counter: int64(step), Created: now}
	if f.Secret, err = s.keys.Seal(ctx, keyTenant(acct), keys.AAD{Kind: "totp", ID: f.ID}, totp.ExportSecret(secret)); err != nil {
		return Factor{}, "", err
	}
	if len(factors) > 0 {
		if err := s.verifyPasskeyProof(ctx, acct, proof); err != nil {
			return Factor{}, "", err
		}
	}
	token, err := s.addFactor(ctx, actor, acct, factors, proof, f, map[string]string{"kind": FactorTOTP})
	if err != nil {
		return Factor{}, "", err
	}
	return f, token, nil
}

// addFactor stores a new factor in one transaction with the proof of an
// existing factor (when the account has one), the upgrade of a session
// limited to enrolment, and the audit record. It returns the session's new
// token, or "" when the token stays.
func (s *Service) addFactor(ctx context.Context, actor principal.Principal, acct Account, factors []Factor, proof *Proof, f Factor, details map[string]string) (string, error) {
	var token string
	err := s.store.Update(ctx, func(tx Tx) error {
		if len(factors) > 0 {
			if err := s.prove(ctx, tx, acct, factors, proof); err != nil {
				return err
			}
		}
		if err := tx.InsertFactor(ctx, f); err != nil {
			return err
		}
		var err error
		if token, err = s.upgradeSession(ctx, tx, actor, f.Kind); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: auditTenant(acct.Tenant), Action: "mfa.enrol", Target: "factor:" + f.ID, Details: details})
	})
	return token, err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// throttled refuses when too many wrong codes were tried for the account;
// otherwise it reserves an attempt, which done must end.
func (s *Service) throttled(ctx context.Context, acct Account, purpose string) error {
	d, err := s.limiter.Check(ctx, throttle.Secret(purpose, acct.Tenant, string(acct.ID)))
	if err != nil {
		return err
	}
	if !d.Allowed {
		return rateLimited(d)
	}
	return nil
}

// done ends an attempt reserved by throttled, as a success or a failure.
func (s *Service) done(ctx context.Context, acct Account, purpose string, ok bool) {
	key := throttle.Secret(purpose, acct.Tenant, string(acct.ID))
	var err error
	if ok {
		err = s.limiter.Succeed(ctx, key)
	} else {
		_, err = s.limiter.Fail(ctx, key)
	}
	if err != nil {
		s.log.WarnContext(ctx, "throttle update failed", "err", err)
	}
}

// prove verifies a second factor within tx: a TOTP code (its step is
// advanced with compare-and-set, so a code works once), a recovery code
// (consumed) or a passkey assertion, verified beforehand by
// verifyPasskeyProof (its signature counter is advanced with
// compare-and-set; its ceremony was used up). It refuses when proof is
// missing.
func (s *Service) prove(ctx context.Context, tx Tx, acct Account, factors []Factor, proof *Proof) error {
	if proofMissing(proof) {
		return errProofRequired
	}
	if err := s.throttled(ctx, acct, "second-factor"); err != nil {
		return err
	}
	err := s.proveOnce(ctx, tx, acct, factors, proof)
	s.done(ctx, acct, "second-factor", err == nil)
	return err
}

func (s *Service) proveOnce(ctx context.Context, tx Tx, acct Account, factors []Factor, proof *Proof) error {
	now := s.clock.Now()
	var lastErr error = errs.E(errs.Invalid, "You have no second factor of that kind.")
	for _, f := range factors {
		if f.Kind != proof.Kind {
			continue
		}
		switch f.Kind {
		case FactorTOTP:
			raw, err := s.keys.Open(ctx, keyTenant(acct), keys.AAD{Kind: "totp", ID: f.ID}, f.Secret)
			if err != nil {
				return err
			}
			secret, err := totp.ImportSecret(raw)
			if err != nil {
				return err
			}
			step, err := totp.NewVerifier(s.clock).Verify(secret, proof.Code, uint64(f.Counter))
			if err != nil {
				lastErr = err
				continue
			}
			ok, err := tx.UpdateFactorCounter(ctx, f.ID, f.Counter, int64(step), now)
			if err != nil {
				return err
			}
			if !ok {
				lastErr = totp.ErrCodeUsed
				continue
			}
			return nil
		case FactorRecovery:
			raw, err := s.keys.Open(ctx, keyTenant(acct), keys.AAD{Kind: "recovery", ID: f.ID}, f.Secret)
			if err != nil {
				return err
			}
			var set recovery.Set
			if err := json.Unmarshal(raw, &set); err != nil {
				return err
			}
			if _, err := set.Consume(proof.Code, now); err != nil {
				lastErr = err
				continue
			}
			b, err := json.Marshal(set)
			if err != nil {
				return err
			}
			sealed, err := s.keys.Seal(ctx, keyTenant(acct), keys.AAD{Kind: "recovery", ID: f.ID}, b)
			if err != nil {
				return err
			}
			ok, err := tx.UpdateFactorCounter(ctx, f.ID, f.Counter, f.Counter+1, now)
			if err != nil {
				return err
			}
			if !ok {
				lastErr = recovery.ErrCodeUsed
				continue
			}
			return tx.UpdateFactorSecret(ctx, f.ID, sealed)
		case FactorPasskey:
			if proof.passkey == nil {
				lastErr = errs.E(errs.Invalid, "A passkey proof needs a passkey sign-in ceremony and your browser's response to it.")
				continue
			}
			if proof.passkey.acct.ID != acct.ID || proof.passkey.factor.ID != f.ID {
				continue
			}
			return s.applyPasskeyUse(ctx, tx, *proof.passkey)
		}
	}
	return lastErr
}

// upgradeSession turns the actor's session into a full one after a second
// factor, with a new token (the privilege changed). It returns "" (keep the
// token) when the actor's session was already full or is not a session.
func (s *Service) upgradeSession(ctx context.Context, tx Tx, actor principal.Principal, method string) (string, error) {
	if actor.Session == "" || actor.Client == "api_token" {
		return "", nil
	}
	sessions, err := s.store.Sessions(ctx, actor.User)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(sessions, func(x Session) bool { return x.ID == actor.Session })
	if i < 0 {
		return "", ErrSessionEnded
	}
	sess := sessions[i]
	acct, err := s.store.AccountByID(ctx, sess.Account)
	if err != nil {
		return "", err
	}
	pol := DefaultPolicy()
	if acct.Realm == TenantRealm {
		t, err := s.store.TenantByID(ctx, acct.Tenant)
		if err != nil {
			return "", err
		}
		pol = t.Policy
	}
	now := s.clock.Now()
	if sess.State == SessionActive {
		// Adding a factor to a full session changes no privilege: same token.
		if slices.Contains(sess.Methods, method) {
			return "", nil
		}
		sess.Methods = append(sess.Methods, method)
		return "", tx.UpdateSession(ctx, sess)
	}
	token, hash := newSecret("kses_")
	{
		sess.Created, sess.Expires = now, now.Add(time.Duration(pol.SessionAbsoluteHours)*time.Hour)
		sess.IdleTimeout = time.Duration(pol.SessionIdleMinutes) * time.Minute
	}
	sess.State, sess.TokenHash, sess.LastSeen = SessionActive, hash, now
	if !slices.Contains(sess.Methods, method) {
		sess.Methods = append(sess.Methods, method)
	}
	return token, tx.UpdateSession(ctx, sess)
}

// VerifySecondFactor completes a sign-in that waits for a second factor.
// It returns the new session token.
func (s *Service) VerifySecondFactor(ctx context.Context, actor principal.Principal, proof Proof) (string, error) {
	if actor.Pending != SessionPendingMFA || actor.User == "" {
		return "", errs.E(errs.Forbidden, "There is no sign-in waiting for a second factor.")
	}
	acct, err := s.store.AccountByID(ctx, actor.User)
	if err != nil {
		return "", err
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return "", err
	}
	t, err := s.store.TenantByID(ctx, acct.Tenant)
	if err != nil {
		return "", err
	}
	d := s.evaluate(t, acct, actor.Source, access.Browser, access.Factors{Password: true, MFA: true})
	if d.Outcome == access.NeedsPasskey {
		return "", errs.E(errs.Forbidden, "Your organisation requires a passkey for this sign-in.")
	}
	event := SignInEvent{ID: ids.New(), Tenant: t.ID, At: s.clock.Now(), Account: acct.ID, Identifier: acct.Email, Source: actor.Source,
		ClientKind: string(access.Browser), Policies: traceJSON(d)}
	var token string
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := s.prove(ctx, tx, acct, factors, &proof); err != nil {
			return err
		}
		var err error
		token, err = s.upgradeSession(ctx, tx, actor, proof.Kind)
		return err
	})
	if err != nil {
		event.Result, event.Reason = "failure", "second factor ("+proof.Kind+") refused"
		s.logSignIn(ctx, event)
		return "", err
	}
	event.Result, event.Reason = "success", "signed in with password and "+proof.Kind
	s.logSignIn(ctx, event)
	return token, nil
}

// NewRecoveryCodes replaces the actor's recovery codes and returns the new
// ones, shown once. Proof of an existing factor is required when there is one.
func (s *Service) NewRecoveryCodes(ctx context.Context, actor principal.Principal, proof *Proof) ([]string, error) {
	acct, err := s.self(ctx, actor)
	if err != nil {
		return nil, err
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(factors, func(f Factor) bool { return f.Kind != FactorRecovery }) {
		return nil, errs.E(errs.Conflict, "Set up an authenticator app or a passkey first; recovery codes back them up.")
	}
	codes, set, err := recovery.Generate()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	f := Factor{ID: ids.New(), Account: acct.ID, Kind: FactorRecovery, Name: "Recovery codes", Created: now}
	if f.Secret, err = s.keys.Seal(ctx, keyTenant(acct), keys.AAD{Kind: "recovery", ID: f.ID}, b); err != nil {
		return nil, err
	}
	if err := s.verifyPasskeyProof(ctx, acct, proof); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := s.prove(ctx, tx, acct, factors, proof); err != nil {
			return err
		}
		for _, old := range factors {
			if old.Kind == FactorRecovery {
				if _, err := tx.DeleteFactor(ctx, acct.ID, old.ID); err != nil {
					return err
				}
			}
		}
		if err := tx.InsertFactor(ctx, f); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: auditTenant(acct.Tenant), Action: "mfa.recovery_codes", Target: "factor:" + f.ID})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// Factors lists the actor's second factors.
func (s *Service) Factors(ctx context.Context, actor principal.Principal) ([]Factor, error) {
	acct, err := s.self(ctx, actor)
	if err != nil {
		return nil, err
	}
	return s.store.Factors(ctx, acct.ID)
}

// RemoveFactor removes one of the actor's factors, confirmed by proof of
// another (or the same) factor.
func (s *Service) RemoveFactor(ctx context.Context, actor principal.Principal, id string, proof *Proof) error {
	acct, err := s.self(ctx, actor)
	if err != nil {
		return err
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(factors, func(f Factor) bool { return f.ID == id }) {
		return errs.E(errs.NotFound, "There is no such factor of yours.")
	}
	if acct.Realm == OperatorRealm && !slices.ContainsFunc(factors, func(f Factor) bool { return f.ID != id && f.Kind == FactorPasskey }) {
		// An operator signs in with a passkey only: the last one stays.
		return errs.E(errs.Conflict, "This is your only passkey, and operators sign in with a passkey only. Add another passkey before removing this one.")
	}
	if err := s.verifyPasskeyProof(ctx, acct, proof); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if err := s.prove(ctx, tx, acct, factors, proof); err != nil {
			return err
		}
		if _, err := tx.DeleteFactor(ctx, acct.ID, id); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: auditTenant(acct.Tenant), Action: "mfa.remove", Target: "factor:" + id})
	})
}
