package passkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kaigi/kaigi/internal/errs"
)

// maxResponse bounds a ceremony response, in bytes. An attestation with a
// certificate chain takes a few kilobytes.
const maxResponse = 64 << 10

// BeginRegistration starts registering a new passkey for user. It returns
// the options for the browser (the JSON of PublicKeyCredentialCreationOptions
// under "publicKey", for navigator.credentials.create) and the session state
// the caller must keep server-side, single use, until FinishRegistration (see
// SessionStore).
//
// The options require user verification, prefer a discoverable credential,
// ask for no attestation, allow ES256, EdDSA and RS256, allow platform and
// roaming authenticators alike, and exclude the user's existing passkeys so
// that one authenticator is not registered twice.
func (rp *RelyingParty) BeginRegistration(user *User) (json.RawMessage, []byte, error) {
	if err := checkUser(user); err != nil {
		return nil, nil, err
	}
	creation, data, err := rp.wa.BeginRegistration(user,
		webauthn.WithCredentialParameters(credentialParameters()),
		webauthn.WithExclusions(webauthn.Credentials(user.WebAuthnCredentials()).CredentialDescriptors()),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return rp.begin(ceremonyRegistration, creation, data)
}

// FinishRegistration verifies the browser's response (the JSON of the
// PublicKeyCredential, as body) against the session state BeginRegistration
// returned for the same user, and returns the new credential for the caller
// to store (after setting its Name). The caller must have taken the state
// out of storage first, so that it cannot be used again.
//
// It refuses, with the package's ErrX errors: expired or foreign session
// state, a user other than the one the ceremony began for, an unreadable
// response, a response for another challenge, origin or RP ID, an
// authenticator that did not verify the user, an algorithm other than
// ES256, EdDSA and RS256, and a passkey the user already has.
func (rp *RelyingParty) FinishRegistration(user *User, state, body []byte) (Credential, error) {
	if err := checkUser(user); err != nil {
		return Credential{}, err
	}
	data, err := rp.decodeSession(state, ceremonyRegistration)
	if err != nil {
		return Credential{}, err
	}
	if !bytes.Equal(user.Handle, data.UserID) {
		return Credential{}, fmt.Errorf("passkey: registration finished for another user: %w", ErrSessionMismatch)
	}
	if len(body) > maxResponse {
		return Credential{}, fmt.Errorf("passkey: registration response of %d bytes: %w", len(body), ErrMalformedResponse)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return Credential{}, fmt.Errorf("passkey: parse registration response: %w: %w", ErrMalformedResponse, err)
	}
	authData := parsed.Response.AttestationObject.AuthData
	wc, err := rp.wa.CreateCredential(user, data, parsed)
	if err != nil {
		return Credential{}, rp.refusal(err, parsed.Response.CollectedClientData, authData, data, protocol.CreateCeremony)
	}
	// The library checked this already, as the session requires user
	// verification; it is checked again so that no session or library
	// change can quietly drop the requirement.
	if !authData.Flags.UserVerified() {
		return Credential{}, fmt.Errorf("passkey: registration without user verification: %w", ErrUserNotVerified)
	}
	if _, dup := user.credential(wc.ID); dup {
		return Credential{}, fmt.Errorf("passkey: credential already registered: %w", ErrAlreadyRegistered)
	}
	var key webauthncose.PublicKeyData
	if err := webauthncbor.Unmarshal(wc.PublicKey, &key); err != nil {
		return Credential{}, fmt.Errorf("passkey: read credential public key: %w: %w", ErrVerification, err)
	}
	transports := make([]string, len(wc.Transport))
	for i, t := range wc.Transport {
		transports[i] = string(t)
	}
	return Credential{
		ID:                wc.ID,
		PublicKey:         wc.PublicKey,
		Algorithm:         key.Algorithm,
		AttestationFormat: wc.AttestationFormat,
		AAGUID:            wc.Authenticator.AAGUID,
		SignCount:         wc.Authenticator.SignCount,
		Transports:        transports,
		Attachment:        string(wc.Authenticator.Attachment),
		UserVerified:      wc.Flags.UserVerified,
		BackupEligible:    wc.Flags.BackupEligible,
		BackupState:       wc.Flags.BackupState,
		CreatedAt:         rp.clock.Now(),
	}, nil
}

// BeginLogin starts a login. With a user, the browser is offered that
// user's passkeys (a second factor after a password, or a username-first
// form); with nil, the ceremony is discoverable: the browser offers every
// passkey it holds for Kaigi and the response names the user. It returns the
// options for the browser (PublicKeyCredentialRequestOptions under
// "publicKey", for navigator.credentials.get) and the session state the
// caller must keep server-side, single use, until FinishLogin. User
// verification is required.
func (rp *RelyingParty) BeginLogin(user *User) (json.RawMessage, []byte, error) {
	uv := webauthn.WithUserVerification(protocol.VerificationRequired)
	if user == nil {
		assertion, data, err := rp.wa.BeginDiscoverableLogin(uv)
		if err != nil {
			return nil, nil, fmt.Errorf("passkey: begin discoverable login: %w", err)
		}
		return rp.begin(ceremonyLogin, assertion, data)
	}
	if err := checkUser(user); err != nil {
		return nil, nil, err
	}
	if len(user.Credentials) == 0 {
		return nil, nil, ErrNoPasskeys
	}
	assertion, data, err := rp.wa.BeginLogin(user, uv)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	return rp.begin(ceremonyLogin, assertion, data)
}

// Login is the outcome of a login ceremony.
type Login struct {
	// User is the user who signed in, as Users returned them.
	User *User
	// Credential is the passkey used, updated: SignCount, BackupState,
	// UserVerified and LastUsedAt. The caller stores it back (by ID),
	// ideally only if the stored SignCount is still the old one.
	Credential Credential
}

// FinishLogin verifies the browser's response (the JSON of the
// PublicKeyCredential, as body) against the session state BeginLogin
// returned, finding the user through users: by the handle the ceremony was
// begun for, or, in a discoverable login, by the user handle the passkey
// returned. The caller must have taken the state out of storage first, so
// that it cannot be used again.
//
// It refuses, with the package's ErrX errors: expired or foreign session
// state, an unreadable response, a passkey not registered to the user (or to
// anyone), a response for another challenge, origin or RP ID, an
// authenticator that did not verify the user, and a bad signature.
//
// Signature counter: if the authenticator keeps one and it did not increase,
// the private key may have been cloned. FinishLogin then refuses the login
// with ErrPossibleClone, and returns the Login too (user and unchanged
// credential) so the caller can record the warning, tell the user, and
// leave the stored counter as it is. Authenticators that keep no counter
// (it stays 0, as with most synced passkeys) are not affected.
func (rp *RelyingParty) FinishLogin(ctx context.Context, users Users, state, body []byte) (Login, error) {
	data, err := rp.decodeSession(state, ceremonyLogin)
	if err != nil {
		return Login{}, err
	}
	if len(body) > maxResponse {
		return Login{}, fmt.Errorf("passkey: login response of %d bytes: %w", len(body), ErrMalformedResponse)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return Login{}, fmt.Errorf("passkey: parse login response: %w: %w", ErrMalformedResponse, err)
	}
	discoverable := len(data.UserID) == 0
	handle := data.UserID
	if discoverable {
		handle = parsed.Response.UserHandle
		if len(handle) == 0 {
			return Login{}, fmt.Errorf("passkey: discoverable login response without a user handle: %w", ErrUnknownCredential)
		}
	}
	user, err := users.PasskeyUser(ctx, handle)
	switch {
	case errs.Is(err, errs.NotFound) || (err == nil && user == nil):
		return Login{}, fmt.Errorf("passkey: no user with this handle: %w", ErrUnknownCredential)
	case err != nil:
		return Login{}, fmt.Errorf("passkey: find user: %w", err)
	}
	stored, ok := user.credential(parsed.RawID)
	if !ok {
		return Login{}, fmt.Errorf("passkey: credential not registered to the user: %w", ErrUnknownCredential)
	}

	var wc *webauthn.Credential
	if discoverable {
		found := func(_, _ []byte) (webauthn.User, error) { return user, nil }
		_, wc, err = rp.wa.ValidatePasskeyLogin(found, data, parsed)
	} else {
		wc, err = rp.wa.ValidateLogin(user, data, parsed)
	}
	authData := parsed.Response.AuthenticatorData
	if err != nil {
		return Login{}, rp.refusal(err, parsed.Response.CollectedClientData, authData, data, protocol.AssertCeremony)
	}
	// Checked by the library too; see FinishRegistration.
	if !authData.Flags.UserVerified() {
		return Login{}, fmt.Errorf("passkey: login without user verification: %w", ErrUserNotVerified)
	}
	if wc.Authenticator.CloneWarning {
		return Login{User: user, Credential: stored}, fmt.Errorf("passkey: signature counter %d not above stored %d: %w",
			authData.Counter, stored.SignCount, ErrPossibleClone)
	}
	updated := stored
	updated.SignCount = wc.Authenticator.SignCount
	updated.BackupState = wc.Flags.BackupState
	updated.UserVerified = wc.Flags.UserVerified
	updated.LastUsedAt = rp.clock.Now()
	return Login{User: user, Credential: updated}, nil
}

// begin encodes a Begin call's options and session state.
func (rp *RelyingParty) begin(ceremony string, options any, data *webauthn.SessionData) (json.RawMessage, []byte, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	state, err := rp.encodeSession(ceremony, data)
	if err != nil {
		return nil, nil, err
	}
	return opts, state, nil
}

// refusal returns the error for a response the library refused: one of the
// package's ErrX values, chosen by looking at the response itself, wrapped
// together with the library's error for the logs. It decides nothing: the
// response was already refused.
func (rp *RelyingParty) refusal(cause error, client protocol.CollectedClientData, auth protocol.AuthenticatorData,
	data webauthn.SessionData, ceremony protocol.CeremonyType) error {
	rpIDHash := sha256.Sum256([]byte(data.GetRelyingPartyID(rp.rpID)))
	var (
		perr    *protocol.Error
		unknown *protocol.ErrorUnknownCredential
		reason  error
	)
	switch {
	case client.Type != ceremony:
		reason = ErrVerification
	case !protocol.IsOriginInHaystack(client.Origin, data.GetOrigins(rp.origins)):
		reason = ErrWrongOrigin
	case subtle.ConstantTimeCompare([]byte(client.Challenge), []byte(data.Challenge)) != 1:
		reason = ErrChallengeMismatch
	case !bytes.Equal(auth.RPIDHash, rpIDHash[:]):
		reason = ErrWrongRPID
	case !auth.Flags.UserVerified():
		reason = ErrUserNotVerified
	case errors.As(cause, &unknown):
		reason = ErrUnknownCredential
	case errors.As(cause, &perr) && perr.Type == protocol.ErrAssertionSignature.Type:
		reason = ErrBadSignature
	default:
		reason = ErrVerification
	}
	return fmt.Errorf("passkey: %w: %w", reason, cause)
}

// checkUser reports a User the caller built wrongly. These are bugs, not
// user errors, so they are plain errors (errs.Internal).
func checkUser(u *User) error {
	switch {
	case u == nil:
		return errors.New("passkey: nil user")
	case len(u.Handle) < protocol.MinimumUserHandleLength || len(u.Handle) > protocol.MaximumUserHandleLength:
		return fmt.Errorf("passkey: user handle must be %d to %d bytes, got %d",
			protocol.MinimumUserHandleLength, protocol.MaximumUserHandleLength, len(u.Handle))
	case u.Name == "":
		return errors.New("passkey: user has no name")
	}
	return nil
}
