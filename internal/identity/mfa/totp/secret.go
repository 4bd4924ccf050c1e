package totp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// SecretSize is the size in bytes of every secret Enrol draws (160 bits).
const SecretSize = 20

// Bounds on imported secrets: RFC 4226 requires at least 128 bits; 64 bytes
// is the HMAC-SHA-1 block size, beyond which nothing is gained.
const (
	minSecretSize = 16
	maxSecretSize = 64
)

// b32 is the unpadded base32 alphabet authenticator apps expect.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Secret is the shared secret of one TOTP factor. The zero value holds no
// secret.
//
// A Secret cannot be compared with ==; use Equal. It prints as a redacted
// placeholder under every fmt verb and in log/slog, and refuses to marshal to
// JSON or text. Copies share the same immutable bytes.
type Secret struct {
	b []byte // never modified after construction
}

// NewSecret returns SecretSize fresh random bytes as a Secret.
func NewSecret() (Secret, error) {
	b := make([]byte, SecretSize)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return Secret{}, fmt.Errorf("totp: random source failed: %w", err)
	}
	return Secret{b: b}, nil
}

// ExportSecret returns a copy of s's bytes for storage, or nil for the zero
// Secret. The caller must seal the result before storing it, never log it,
// and should clear it after use.
func ExportSecret(s Secret) []byte {
	if s.b == nil {
		return nil
	}
	out := make([]byte, len(s.b))
	copy(out, s.b)
	return out
}

// ImportSecret returns a Secret holding a copy of raw, the bytes
// ExportSecret gave. raw must be 16 to 64 bytes long. The caller should clear
// raw afterwards.
func ImportSecret(raw []byte) (Secret, error) {
	if len(raw) < minSecretSize || len(raw) > maxSecretSize {
		return Secret{}, fmt.Errorf("totp: secret must be %d to %d bytes, got %d", minSecretSize, maxSecretSize, len(raw))
	}
	b := make([]byte, len(raw))
	copy(b, raw)
	return Secret{b: b}, nil
}

// IsZero reports whether s holds no secret.
func (s Secret) IsZero() bool { return s.b == nil }

// Equal reports whether s and o hold the same secret, in constant time.
func (s Secret) Equal(o Secret) bool {
	if s.b == nil || o.b == nil {
		return s.b == nil && o.b == nil
	}
	return subtle.ConstantTimeCompare(s.b, o.b) == 1
}

// String returns a redacted placeholder, never the secret.
func (s Secret) String() string {
	if s.b == nil {
		return "TOTPSecret(empty)"
	}
	return "TOTPSecret(redacted)"
}

// GoString returns a redacted placeholder, never the secret.
func (s Secret) GoString() string { return "totp." + s.String() }

// Format prints a redacted placeholder for every verb, so that no fmt verb
// (%x and %d included) reaches the secret.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue returns a redacted placeholder for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText fails: a secret is never serialised by accident (this also
// makes encoding/json and encoding/xml refuse). Use ExportSecret.
func (s Secret) MarshalText() ([]byte, error) { return nil, errMarshal }

var errMarshal = errors.New("totp: secrets cannot be marshalled; use ExportSecret and seal the result")

// base32 returns the secret in unpadded base32, the form authenticator apps
// and the HOTP implementation take.
func (s Secret) base32() string { return b32.EncodeToString(s.b) }
