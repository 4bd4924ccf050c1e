package passkey

import "github.com/kaigi/kaigi/internal/errs"

// Errors that can reach a request carry an errs code and a message safe to
// show: it says what is wrong without internals. The returned errors wrap
// one of these and, for the logs, the library's detail. Test for them with
// errors.Is.
var (
	// ErrMalformedResponse reports a ceremony response that cannot be
	// parsed as a WebAuthn credential.
	ErrMalformedResponse = errs.E(errs.Invalid, "The passkey response could not be read. Please try again.")

	// ErrSessionInvalid reports session state that is not a passkey
	// ceremony's, or belongs to the other kind of ceremony (registration
	// state given to FinishLogin, or the reverse).
	ErrSessionInvalid = errs.E(errs.Invalid, "This passkey request is not valid. Please start again.")

	// ErrSessionExpired reports a ceremony finished after its session
	// state expired (Config.SessionTTL after Begin).
	ErrSessionExpired = errs.E(errs.Invalid, "The passkey request timed out. Please start again.")

	// ErrSessionNotFound reports session state that is not (or no longer)
	// in a SessionStore: never stored, already used, or reaped.
	ErrSessionNotFound = errs.E(errs.Invalid, "This passkey request was already used or has expired. Please start again.")

	// ErrSessionMismatch reports a registration finished for another user
	// than the one it was begun for.
	ErrSessionMismatch = errs.E(errs.Invalid, "This passkey request was started for another account. Please start again.")

	// ErrChallengeMismatch reports a response that does not answer this
	// ceremony's challenge: a replayed or stale response.
	ErrChallengeMismatch = errs.E(errs.Unauthenticated, "The passkey response does not answer this request; it may be a replay. Please try again.")

	// ErrWrongOrigin reports a response collected by a page that is not
	// one of Kaigi's origins (Config.Origins).
	ErrWrongOrigin = errs.E(errs.Unauthenticated, "The passkey response came from a different website.")

	// ErrWrongRPID reports a response for another relying party ID: the
	// authenticator signed for a different site.
	ErrWrongRPID = errs.E(errs.Unauthenticated, "The passkey is for a different website.")

	// ErrUserNotVerified reports an authenticator that did not verify the
	// user (no PIN, fingerprint or face check). Kaigi requires it.
	ErrUserNotVerified = errs.E(errs.Unauthenticated, "Your device did not verify you with a PIN, fingerprint or face. Kaigi requires that for passkeys; please try again and confirm on your device.")

	// ErrBadSignature reports an assertion whose signature does not verify
	// with the credential's public key.
	ErrBadSignature = errs.E(errs.Unauthenticated, "The passkey's signature is not valid.")

	// ErrUnknownCredential reports a passkey that is not registered for
	// the account (or for any account, in a discoverable login): it may
	// have been removed. The browser can be told to forget it.
	ErrUnknownCredential = errs.E(errs.Unauthenticated, "This passkey is not registered for this account. It may have been removed; sign in another way.")

	// ErrPossibleClone reports an authenticator whose signature counter
	// did not increase: a sign that the credential's private key was
	// copied. The login is refused; see FinishLogin.
	ErrPossibleClone = errs.E(errs.Unauthenticated, "This passkey reported a use count lower than before, which can mean it was copied. It was refused; sign in another way and review your passkeys.")

	// ErrVerification reports any other response that fails verification
	// (wrong ceremony type, a changed backup-eligible flag, a bad
	// attestation statement, an algorithm Kaigi does not allow).
	ErrVerification = errs.E(errs.Unauthenticated, "The passkey response could not be verified.")

	// ErrAlreadyRegistered reports a registration of a passkey the user
	// already has.
	ErrAlreadyRegistered = errs.E(errs.Conflict, "This passkey is already registered for your account.")

	// ErrNoPasskeys reports BeginLogin for a user without passkeys. For a
	// username-first form, prefer a discoverable login (BeginLogin(nil)),
	// which does not reveal whether an account has passkeys.
	ErrNoPasskeys = errs.E(errs.Invalid, "This account has no passkeys.")
)
