// Package mfa gathers the mechanics of Kaigi's second factors. It holds no
// code of its own: each factor lives in a subpackage, free of database and
// HTTP code, so that the identity service can persist its state (sealed with
// the tenant's data key) and wire it to its routes.
//
// # Factors
//
//   - totp: time-based one-time passwords (RFC 6238) from an authenticator
//     app. The caller persists the secret (sealed: it is a shared secret and
//     cannot be hashed) and the last accepted time step, which must be
//     advanced with a compare-and-set so that a code is accepted at most
//     once even under concurrent requests.
//   - recovery: ten single-use recovery codes, shown once. The caller
//     persists a per-user salt and one keyed hash per code, and marks a code
//     used with a compare-and-set.
//   - passkey: WebAuthn passkeys and security keys, with user verification
//     required. The caller persists a stable random user handle per user,
//     one Credential record per passkey, and each ceremony's session state
//     between its Begin and Finish calls, taking it out of storage (single
//     use) before Finish.
//
// Each subpackage declares the small interface it needs from storage (with
// the atomicity it relies on spelled out) and ships an in-memory
// implementation for tests and single-process use.
//
// # Errors
//
// Every error a user may see carries an errs code and a safe message:
// errs.Invalid for malformed input (a code with letters in it, a response
// that cannot be parsed, an expired ceremony) and errs.Unauthenticated for
// a factor that does not verify. Test for the named ErrX values of each
// package with errors.Is. No error contains a secret, a code or key material.
//
// # Rate limiting
//
// None of these packages counts attempts. A six-digit code has a one in
// 333,333 chance per guess (three steps are accepted), so the caller must
// limit attempts per account (errs.RateLimited) before calling them.
package mfa
