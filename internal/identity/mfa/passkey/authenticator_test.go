package passkey_test

import (
	"encoding/base64"
	"testing"

	"github.com/kaigi/kaigi/internal/identity/mfa/passkey/passkeytest"
)

// The software authenticator these tests use lives in passkeytest, shared
// with the identity service's end-to-end tests.

var b64 = base64.RawURLEncoding

// Authenticator data flags.
const (
	flagUP = passkeytest.FlagUP
	flagBE = passkeytest.FlagBE
	flagBS = passkeytest.FlagBS
)

type (
	softAuthenticator = passkeytest.Authenticator
	knobs             = passkeytest.Knobs
)

func newSoftAuthenticator(t *testing.T) *softAuthenticator {
	t.Helper()
	return passkeytest.New(t, testOrigin)
}
