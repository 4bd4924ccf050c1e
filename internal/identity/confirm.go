package identity

import (
	"context"
	"encoding/json"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/principal"
)

// errPasskeyConfirmation asks for a passkey where only a passkey will do.
var errPasskeyConfirmation = errs.E(errs.Forbidden, "Confirm this decision with one of your passkeys: start a passkey check and answer it with your device.")

// ConfirmPasskey checks a fresh passkey assertion by the acting person — a
// Proof of kind passkey (a sign-in ceremony from POST /api/v1/auth/passkey/begin
// and the browser's answer) — for decisions that need one, such as
// approving a lockbox request. The ceremony is single-use, so an assertion
// cannot be replayed; the passkey's signature counter is updated and the
// confirmation audited.
func (s *Service) ConfirmPasskey(ctx context.Context, p principal.Principal, raw json.RawMessage) error {
	if p.User == "" || (p.Kind != principal.Member && p.Kind != principal.Operator) {
		return errs.E(errs.Unauthenticated, "Please sign in.")
	}
	var proof Proof
	if len(raw) == 0 || json.Unmarshal(raw, &proof) != nil || proof.Kind != FactorPasskey || proof.Ceremony == "" || len(proof.Credential) == 0 {
		return errPasskeyConfirmation
	}
	acct, err := s.store.AccountByID(ctx, p.User)
	if err != nil {
		return err
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return err
	}
	if err := s.verifyPasskeyProof(ctx, acct, &proof); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if err := s.prove(ctx, tx, acct, factors, &proof); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: p, Tenant: auditTenant(acct.Tenant), Action: "mfa.confirm", Target: "account:" + string(acct.ID),
			Details: map[string]string{"kind": FactorPasskey}})
	})
}
