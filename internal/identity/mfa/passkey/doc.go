// Package passkey runs WebAuthn registration and login ceremonies for
// passkeys and security keys, wrapping github.com/go-webauthn/webauthn with
// Kaigi's policy.
//
// # Policy
//
// A RelyingParty is configured with the RP ID (the domain passkeys are bound
// to), the display name "Kaigi" and the exact origins the web app is served
// from. Every ceremony:
//
//   - requires user verification (a PIN, fingerprint or face check on the
//     device), at registration and at login, and refuses a response whose
//     UV flag is not set, even if the library were to let it through;
//   - prefers a discoverable credential (resident key), so that a user can
//     sign in with the passkey alone (BeginLogin(nil));
//   - asks for no attestation: Kaigi does not restrict authenticator models;
//   - accepts ES256, EdDSA and RS256 keys only;
//   - accepts platform authenticators (Windows Hello, Touch ID, Android) and
//     roaming security keys alike.
//
// # Ceremonies
//
// BeginRegistration and BeginLogin return the options for the browser (JSON
// for navigator.credentials.create or .get, under "publicKey") and session
// state as opaque bytes. FinishRegistration and FinishLogin take the state
// and the browser's response body and return the new or used Credential.
//
// The session state carries the challenge and expires Config.SessionTTL
// (default 5 minutes, read from the Clock) after Begin. It must be kept on
// the server, tied to the browser session, and used once: take it out of
// storage (SessionStore.TakePasskeySession) before calling Finish. Finish
// checks expiry, the ceremony kind and the RP ID, but cannot tell whether
// the same state was used before; the store's atomic take is what refuses a
// second use. A response replayed against a new ceremony fails its
// challenge check (ErrChallengeMismatch).
//
// # What the caller stores
//
//   - Per user: a random user handle (NewUserHandle), kept for the life of
//     the account and unique under the RP ID; discoverable logins find the
//     user by it (Users).
//   - Per passkey: the Credential record, with the RP ID and the owner, and
//     (RP ID, Credential.ID) unique. After each login, store the updated
//     Credential that Login returns (signature counter, backup state, last
//     use).
//   - Per ceremony: the session state, briefly, as above.
//
// # Refusals
//
// Each refusal is one of the ErrX values, with an errs code (Invalid for a
// malformed or stale request, Unauthenticated for a response that does not
// verify, Conflict for a duplicate) and a message that says what is wrong
// without internals; the wrapped error keeps the library's detail for the
// logs. A signature counter that does not increase is refused as
// ErrPossibleClone (see FinishLogin).
package passkey
