package keys

import (
	"context"
	"encoding/binary"

	"github.com/kaigi/kaigi/internal/ids"
)

// KeyProvider holds key-encryption keys (KEKs) and wraps data keys with them.
// KEK material never leaves the provider. LocalKeyring is the embedded
// implementation; an external KMS or PKCS#11 HSM can implement the same
// interface (see DataKeyFromRaw and RawDataKey), and keystest.RunProvider
// checks an implementation against these guarantees.
//
// Implementations must be safe for concurrent use.
type KeyProvider interface {
	// CreateKEK creates a new KEK for tenant and returns its id. The id is
	// at most 255 bytes, is not secret, and is stored beside every data key
	// it wraps. Each call creates a new KEK.
	CreateKEK(ctx context.Context, tenant ids.TenantID) (kekID string, err error)

	// Wrap encrypts dek under the KEK kekID with an authenticated cipher
	// (AES-256-GCM for LocalKeyring), binding kekID, the KEK's tenant and aad
	// as additional data, and returns the wrapped key. The result does not
	// contain dek in clear. Wrap fails with ErrKeyDestroyed for a destroyed
	// KEK and ErrKeyNotFound for an unknown one.
	Wrap(ctx context.Context, kekID string, dek DataKey, aad []byte) ([]byte, error)

	// Unwrap reverses Wrap. It fails with ErrTampered if wrapped or aad
	// differ from what Wrap saw, or if wrapped was made under another KEK;
	// with ErrKeyDestroyed once the KEK was destroyed; and with
	// ErrKeyNotFound for an unknown KEK.
	Unwrap(ctx context.Context, kekID string, wrapped, aad []byte) (DataKey, error)

	// Destroy erases the KEK kekID for good: afterwards Wrap and Unwrap with
	// it fail with ErrKeyDestroyed, including after a restart. Destroying a
	// destroyed KEK succeeds; an unknown one fails with ErrKeyNotFound.
	Destroy(ctx context.Context, kekID string) error
}

// maxKEKIDLen bounds KEK ids so that stores can use a fixed-size column.
const maxKEKIDLen = 255

// appendField appends a length-prefixed field (uint32 big-endian length, then
// the bytes), so that a sequence of fields has exactly one decoding: "ab"+"c"
// and "a"+"bc" encode differently.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
