// Package passkeytest is a software WebAuthn authenticator for tests: it
// stands in for the browser and the device, answering the options a relying
// party sends as navigator.credentials.create and .get would, with one ES256
// credential. Knobs bend one response at a time, to test that the relying
// party refuses what it must.
//
// It builds clientDataJSON, authenticator data, a "none" attestation object
// in CTAP2 canonical CBOR, and ECDSA P-256 assertion signatures, as the
// WebAuthn specification lays them out; it shares no code with the relying
// party it tests.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagBE = 0x08 // backup eligible
	FlagBS = 0x10 // backup state
	FlagAT = 0x40 // attested credential data included
)

var b64 = base64.RawURLEncoding

// Authenticator is a software authenticator with one ES256 credential.
// Use it from one goroutine at a time.
type Authenticator struct {
	Key    *ecdsa.PrivateKey
	CredID []byte
	AAGUID [16]byte
	// Handle is the user handle, learned at registration.
	Handle []byte
	// Counter is the signature counter; Get advances it before signing.
	Counter uint32
	// Flags are added to UP|UV (or UP alone, with Knobs.NoUV) in every
	// response, e.g. FlagBE|FlagBS for a synced passkey.
	Flags byte
	// Origin is the origin clientDataJSON names, the page's.
	Origin string
}

// Knobs change one response to test the relying party's checks. The zero
// value gives an honest response.
type Knobs struct {
	Origin      string // default the authenticator's Origin
	RPID        string // default the RP ID in the options
	Type        string // default "webauthn.create" or "webauthn.get"
	Challenge   string // default the challenge in the options
	NoUV        bool   // leave out the UV flag
	ExtraFlags  byte   // add flags
	DropFlags   byte   // remove flags
	Counter     *uint32
	TamperSig   bool // flip a bit of the signature
	TamperData  bool // change the authenticator data after signing
	CredID      []byte
	UserHandle  []byte
	NoHandle    bool // leave the user handle out of an assertion
	KeepCounter bool // do not advance the counter
}

// New returns an authenticator with a fresh key and credential id, for
// pages of origin.
func New(t testing.TB, origin string) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Key: key, CredID: make([]byte, 32), Origin: origin}
	if _, err := rand.Read(a.CredID); err != nil {
		t.Fatal(err)
	}
	copy(a.AAGUID[:], "kaigi-test-authn")
	return a
}

var ctap2 = func() cbor.EncMode {
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// COSEKey returns the credential public key as a COSE_Key (RFC 9053 EC2).
func (a *Authenticator) COSEKey(t testing.TB) []byte {
	t.Helper()
	pub, err := a.Key.PublicKey.Bytes() // 0x04 | X | Y
	if err != nil {
		t.Fatal(err)
	}
	k, err := ctap2.Marshal(map[int]any{
		1:  2,  // kty: EC2
		3:  -7, // alg: ES256
		-1: 1,  // crv: P-256
		-2: pub[1:33],
		-3: pub[33:65],
	})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (k Knobs) flags(a *Authenticator) byte {
	f := byte(FlagUP|FlagUV) | a.Flags | k.ExtraFlags
	if k.NoUV {
		f &^= FlagUV
	}
	return f &^ k.DropFlags
}

func (k Knobs) clientData(t testing.TB, a *Authenticator, typ, challenge string) []byte {
	t.Helper()
	if k.Type != "" {
		typ = k.Type
	}
	if k.Challenge != "" {
		challenge = k.Challenge
	}
	origin := k.Origin
	if origin == "" {
		origin = a.Origin
	}
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Create answers registration options (JSON with the options under
// "publicKey") as navigator.credentials.create would, and returns the
// PublicKeyCredential as JSON.
func (a *Authenticator) Create(t testing.TB, options []byte, k Knobs) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.Handle = handle
	rpID := o.PublicKey.RP.ID
	if k.RPID != "" {
		rpID = k.RPID
	}
	credID := a.CredID
	if k.CredID != nil {
		credID = k.CredID
	}
	rpHash := sha256.Sum256([]byte(rpID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, k.flags(a)|FlagAT)
	authData = binary.BigEndian.AppendUint32(authData, a.Counter)
	authData = append(authData, a.AAGUID[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(credID)))
	authData = append(authData, credID...)
	authData = append(authData, a.COSEKey(t)...)
	attObj, err := ctap2.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"id":                      b64.EncodeToString(credID),
		"rawId":                   b64.EncodeToString(credID),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData(t, a, "webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(attObj),
			"transports":        []string{"internal", "hybrid"},
		},
		"clientExtensionResults": map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// Get answers login options (JSON with the options under "publicKey") as
// navigator.credentials.get would, and returns the PublicKeyCredential as
// JSON.
func (a *Authenticator) Get(t testing.TB, options []byte, k Knobs) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RPID      string `json:"rpId"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	rpID := o.PublicKey.RPID
	if k.RPID != "" {
		rpID = k.RPID
	}
	if !k.KeepCounter {
		a.Counter++
	}
	counter := a.Counter
	if k.Counter != nil {
		counter = *k.Counter
	}
	rpHash := sha256.Sum256([]byte(rpID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, k.flags(a))
	authData = binary.BigEndian.AppendUint32(authData, counter)
	clientData := k.clientData(t, a, "webauthn.get", o.PublicKey.Challenge)
	clientHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), clientHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if k.TamperSig {
		sig[10] ^= 0x01 // inside r: the DER stays well-formed
	}
	if k.TamperData {
		authData[len(authData)-1] ^= 0x01 // the counter's last byte
	}
	credID := a.CredID
	if k.CredID != nil {
		credID = k.CredID
	}
	resp := map[string]any{
		"clientDataJSON":    b64.EncodeToString(clientData),
		"authenticatorData": b64.EncodeToString(authData),
		"signature":         b64.EncodeToString(sig),
	}
	handle := a.Handle
	if k.UserHandle != nil {
		handle = k.UserHandle
	}
	if !k.NoHandle {
		resp["userHandle"] = b64.EncodeToString(handle)
	}
	body, err := json.Marshal(map[string]any{
		"id":                      b64.EncodeToString(credID),
		"rawId":                   b64.EncodeToString(credID),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"response":                resp,
		"clientExtensionResults":  map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}
