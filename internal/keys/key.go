package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// KeySize is the size in bytes of every key in this package (AES-256).
const KeySize = 32

// incomparable, as a zero-size field, makes a struct unusable with == so that
// keys are compared only in constant time. It costs no memory.
type incomparable [0]func()

// DataKey is a tenant's data encryption key (DEK). The zero value holds no key.
//
// A DataKey cannot be compared with ==; use Equal. It prints as a redacted
// placeholder under every fmt verb and in log/slog, and refuses to marshal
// to JSON or text. Copies share the same immutable key material.
type DataKey struct {
	_ incomparable
	b *[KeySize]byte
}

// NewDataKey returns a fresh random data key.
func NewDataKey() (DataKey, error) {
	b, err := randomKey()
	if err != nil {
		return DataKey{}, err
	}
	return DataKey{b: b}, nil
}

// IsZero reports whether k holds no key.
func (k DataKey) IsZero() bool { return k.b == nil }

// Equal reports whether k and o hold the same key, in constant time.
func (k DataKey) Equal(o DataKey) bool { return equal(k.b, o.b) }

// String returns a redacted placeholder, never the key.
func (k DataKey) String() string { return redacted("DataKey", k.b) }

// GoString returns a redacted placeholder, never the key.
func (k DataKey) GoString() string { return "keys." + k.String() }

// Format prints a redacted placeholder for every verb, so that no fmt verb
// (%x and %d included) reaches the key bytes.
func (k DataKey) Format(f fmt.State, verb rune) { format(f, verb, k.String()) }

// LogValue returns a redacted placeholder for log/slog.
func (k DataKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText fails: key material is never serialised by accident (this also
// makes encoding/json and encoding/xml refuse).
func (k DataKey) MarshalText() ([]byte, error) { return nil, errMarshal }

// aead returns AES-256-GCM with random nonces under k.
func (k DataKey) aead() (cipher.AEAD, error) { return newAEAD(k.b) }

// DataKeyFromRaw returns a DataKey holding a copy of raw, which must be
// KeySize bytes. It exists for KeyProvider implementations that receive a
// data key in clear from a KMS; nothing else should need it. The caller
// should clear raw afterwards.
func DataKeyFromRaw(raw []byte) (DataKey, error) {
	if len(raw) != KeySize {
		return DataKey{}, fmt.Errorf("keys: data key must be %d bytes, got %d", KeySize, len(raw))
	}
	b := new([KeySize]byte)
	copy(b[:], raw)
	return DataKey{b: b}, nil
}

// RawDataKey returns a copy of k's bytes, or nil for the zero DataKey. It
// exists for KeyProvider implementations that must hand the data key to a KMS
// to be wrapped; nothing else should need it. The caller must not log, store
// or keep the result, and should clear it after use.
func RawDataKey(k DataKey) []byte {
	if k.b == nil {
		return nil
	}
	out := make([]byte, KeySize)
	copy(out, k.b[:])
	return out
}

// MasterKey is the key that seals the LocalKeyring file. Load it with
// LoadMasterKey or LoadOrCreateMasterKey. The zero value holds no key.
//
// Like DataKey it cannot be compared with ==, compares in constant time with
// Equal and never prints its bytes.
type MasterKey struct {
	_ incomparable
	b *[KeySize]byte
}

// IsZero reports whether k holds no key.
func (k MasterKey) IsZero() bool { return k.b == nil }

// Equal reports whether k and o hold the same key, in constant time.
func (k MasterKey) Equal(o MasterKey) bool { return equal(k.b, o.b) }

// String returns a redacted placeholder, never the key.
func (k MasterKey) String() string { return redacted("MasterKey", k.b) }

// GoString returns a redacted placeholder, never the key.
func (k MasterKey) GoString() string { return "keys." + k.String() }

// Format prints a redacted placeholder for every verb.
func (k MasterKey) Format(f fmt.State, verb rune) { format(f, verb, k.String()) }

// LogValue returns a redacted placeholder for log/slog.
func (k MasterKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText fails: key material is never serialised by accident.
func (k MasterKey) MarshalText() ([]byte, error) { return nil, errMarshal }

var errMarshal = errors.New("keys: key material cannot be marshalled")

// kekKey is a key-encryption key held by LocalKeyring. It never leaves this
// package.
type kekKey struct {
	_ incomparable
	b *[KeySize]byte
}

func (k kekKey) String() string                { return redacted("KEK", k.b) }
func (k kekKey) GoString() string              { return "keys." + k.String() }
func (k kekKey) Format(f fmt.State, verb rune) { format(f, verb, k.String()) }
func (k kekKey) LogValue() slog.Value          { return slog.StringValue(k.String()) }

func randomKey() (*[KeySize]byte, error) {
	b := new([KeySize]byte)
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return nil, fmt.Errorf("keys: random source failed: %w", err)
	}
	return b, nil
}

func equal(a, b *[KeySize]byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func redacted(kind string, b *[KeySize]byte) string {
	if b == nil {
		return kind + "(empty)"
	}
	return kind + "(redacted)"
}

func format(f fmt.State, _ rune, s string) { _, _ = io.WriteString(f, s) }

// newAEAD returns AES-256-GCM under b. The AEAD draws a fresh 96-bit nonce
// from crypto/rand for every Seal and prepends it to the ciphertext, so
// callers cannot reuse a nonce.
func newAEAD(b *[KeySize]byte) (cipher.AEAD, error) {
	if b == nil {
		return nil, fmt.Errorf("keys: empty key")
	}
	block, err := aes.NewCipher(b[:])
	if err != nil {
		return nil, fmt.Errorf("keys: aes: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}
