package passkey_test

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
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible
	flagBS = 0x10 // backup state
	flagAT = 0x40 // attested credential data included
)

var b64 = base64.RawURLEncoding

// softAuthenticator is a software WebAuthn authenticator with one ES256
// credential, standing in for the browser and the device: it builds
// clientDataJSON, authenticator data, a "none" attestation object in CTAP2
// canonical CBOR, and ECDSA P-256 assertion signatures, as the WebAuthn
// specification lays them out.
type softAuthenticator struct {
	key     *ecdsa.PrivateKey
	credID  []byte
	aaguid  [16]byte
	handle  []byte // the user handle, learned at registration
	counter uint32
	// flags are added to UP|UV (or UP alone, with knobs.noUV) in every
	// response, e.g. flagBE|flagBS for a synced passkey.
	flags byte
}

// knobs change one response to test the relying party's checks. The zero
// value gives an honest response.
type knobs struct {
	origin      string // default the relying party's origin
	rpID        string // default the RP ID in the options
	typ         string // default "webauthn.create" or "webauthn.get"
	challenge   string // default the challenge in the options
	noUV        bool   // leave out the UV flag
	extraFlags  byte   // add flags
	dropFlags   byte   // remove flags
	counter     *uint32
	tamperSig   bool // flip a bit of the signature
	tamperData  bool // change the authenticator data after signing
	credID      []byte
	userHandle  []byte
	noHandle    bool // leave the user handle out of an assertion
	keepCounter bool // do not advance the counter
}

func newSoftAuthenticator(t *testing.T) *softAuthenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &softAuthenticator{key: key, credID: make([]byte, 32)}
	if _, err := rand.Read(a.credID); err != nil {
		t.Fatal(err)
	}
	copy(a.aaguid[:], "kaigi-test-authn")
	return a
}

var ctap2 = func() cbor.EncMode {
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// coseKey returns the credential public key as a COSE_Key (RFC 9053 EC2).
func (a *softAuthenticator) coseKey(t *testing.T) []byte {
	t.Helper()
	pub, err := a.key.PublicKey.Bytes() // 0x04 | X | Y
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

func (k knobs) flags(a *softAuthenticator) byte {
	f := byte(flagUP|flagUV) | a.flags | k.extraFlags
	if k.noUV {
		f &^= flagUV
	}
	return f &^ k.dropFlags
}

func (k knobs) clientData(t *testing.T, typ, challenge string) []byte {
	t.Helper()
	if k.typ != "" {
		typ = k.typ
	}
	if k.challenge != "" {
		challenge = k.challenge
	}
	origin := k.origin
	if origin == "" {
		origin = testOrigin
	}
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// create answers registration options as navigator.credentials.create would.
func (a *softAuthenticator) create(t *testing.T, options []byte, k knobs) []byte {
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
	a.handle = handle
	rpID := o.PublicKey.RP.ID
	if k.rpID != "" {
		rpID = k.rpID
	}
	credID := a.credID
	if k.credID != nil {
		credID = k.credID
	}
	rpHash := sha256.Sum256([]byte(rpID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, k.flags(a)|flagAT)
	authData = binary.BigEndian.AppendUint32(authData, a.counter)
	authData = append(authData, a.aaguid[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(credID)))
	authData = append(authData, credID...)
	authData = append(authData, a.coseKey(t)...)
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
			"clientDataJSON":    b64.EncodeToString(k.clientData(t, "webauthn.create", o.PublicKey.Challenge)),
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

// get answers login options as navigator.credentials.get would.
func (a *softAuthenticator) get(t *testing.T, options []byte, k knobs) []byte {
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
	if k.rpID != "" {
		rpID = k.rpID
	}
	if !k.keepCounter {
		a.counter++
	}
	counter := a.counter
	if k.counter != nil {
		counter = *k.counter
	}
	rpHash := sha256.Sum256([]byte(rpID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, k.flags(a))
	authData = binary.BigEndian.AppendUint32(authData, counter)

	clientData := k.clientData(t, "webauthn.get", o.PublicKey.Challenge)
	clientHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), clientHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if k.tamperSig {
		sig[10] ^= 0x01 // inside r: the DER stays well-formed
	}
	if k.tamperData {
		authData[len(authData)-1] ^= 0x01 // the counter's last byte
	}
	credID := a.credID
	if k.credID != nil {
		credID = k.credID
	}
	resp := map[string]any{
		"clientDataJSON":    b64.EncodeToString(clientData),
		"authenticatorData": b64.EncodeToString(authData),
		"signature":         b64.EncodeToString(sig),
	}
	handle := a.handle
	if k.userHandle != nil {
		handle = k.userHandle
	}
	if !k.noHandle {
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
