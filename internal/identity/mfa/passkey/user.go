package passkey

import (
	"crypto/rand"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kaigi/kaigi/internal/ids"
)

// UserHandleSize is the size in bytes of the user handles NewUserHandle
// draws.
const UserHandleSize = 32

// NewUserHandle returns a new random user handle. Draw one per user when
// their first passkey is registered and keep it for the life of the
// account: every passkey of the user carries it, and a discoverable login
// finds the user by it. It is random so that it says nothing about the user
// (not their email, not their user id) to anyone who reads the
// authenticator.
func NewUserHandle() []byte {
	b := make([]byte, UserHandleSize)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return b
}

// User is a Kaigi account as WebAuthn sees it. *User implements
// webauthn.User.
type User struct {
	// Handle is the user's stable, random WebAuthn user handle
	// (NewUserHandle), 1 to 64 bytes. Not the email, not the user id.
	Handle []byte

	// Tenant is the tenant of the account. WebAuthn does not use it; it
	// is carried through so that a Login says who signed in.
	Tenant ids.TenantID
	// ID is the account's user id, carried through like Tenant.
	ID ids.UserID

	// Name is the account name authenticators show in their account
	// picker, such as the email address. Required.
	Name string

	// DisplayName is the person's name, such as "田中 倫". Default Name.
	DisplayName string

	// Credentials are all the user's registered passkeys.
	Credentials []Credential
}

// WebAuthnID returns the user handle.
func (u *User) WebAuthnID() []byte { return u.Handle }

// WebAuthnName returns the account name.
func (u *User) WebAuthnName() string { return u.Name }

// WebAuthnDisplayName returns the display name, or the account name if it
// is empty.
func (u *User) WebAuthnDisplayName() string {
	if u.DisplayName == "" {
		return u.Name
	}
	return u.DisplayName
}

// WebAuthnCredentials returns the user's credentials as the library's
// records.
func (u *User) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.Credentials))
	for i, c := range u.Credentials {
		out[i] = c.webauthn()
	}
	return out
}

var _ webauthn.User = (*User)(nil)

// credential returns the user's credential whose ID is id.
func (u *User) credential(id []byte) (Credential, bool) {
	for _, c := range u.Credentials {
		if string(c.ID) == string(id) {
			return c, true
		}
	}
	return Credential{}, false
}

// Credential is one registered passkey: plain data for the caller to store
// (encoding/json works). Store it with the RP ID it was registered under and
// the user it belongs to; make (RP ID, ID) unique. Seal PublicKey and the
// rest at rest if the store allows, leaving ID in clear for lookups.
type Credential struct {
	// ID is the credential ID the authenticator chose (at most 1023
	// bytes); every assertion names it.
	ID []byte `json:"id"`
	// PublicKey is the credential public key as a COSE_Key (CBOR).
	PublicKey []byte `json:"publicKey"`
	// Algorithm is the key's COSE algorithm: -7 ES256, -8 EdDSA, -257 RS256.
	Algorithm int64 `json:"alg"`
	// AttestationFormat is the attestation statement format of the
	// registration ("none" when the browser honoured Kaigi's preference).
	AttestationFormat string `json:"attestationFormat,omitempty"`
	// AAGUID identifies the authenticator model (16 bytes; all zero when
	// unknown). It can name the provider for display ("iCloud Keychain").
	AAGUID []byte `json:"aaguid,omitempty"`
	// SignCount is the last signature counter seen; 0 for authenticators
	// without one (most synced passkeys).
	SignCount uint32 `json:"signCount"`
	// Transports are the authenticator's transports as the browser
	// reported them ("internal", "hybrid", "usb", "nfc", "ble").
	Transports []string `json:"transports,omitempty"`
	// Attachment is "platform" (built into the device) or
	// "cross-platform" (a security key or phone), when the browser said.
	Attachment string `json:"attachment,omitempty"`
	// UserVerified records that the authenticator verified the user at
	// registration (always true here: Kaigi requires it).
	UserVerified bool `json:"userVerified"`
	// BackupEligible reports a passkey that can be synced to other
	// devices. It never changes for a credential.
	BackupEligible bool `json:"backupEligible"`
	// BackupState reports a passkey that is currently synced or backed
	// up. It may change at each login.
	BackupState bool `json:"backupState"`
	// Name is the user's name for the passkey, like "MacBook Touch ID".
	// The caller sets it; this package only carries it.
	Name string `json:"name,omitempty"`
	// CreatedAt is when the passkey was registered.
	CreatedAt time.Time `json:"createdAt"`
	// LastUsedAt is when the passkey last signed in; zero if never.
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
}

// webauthn returns c as the library's credential record.
func (c Credential) webauthn() webauthn.Credential {
	flags := protocol.FlagUserPresent
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationFormat: c.AttestationFormat,
		Transport:         transports,
		Flags:             webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{
			AAGUID:     c.AAGUID,
			SignCount:  c.SignCount,
			Attachment: protocol.AuthenticatorAttachment(c.Attachment),
		},
	}
}
