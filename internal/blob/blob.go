package blob

import (
	"context"
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// Blob stores tenant blobs by key. Keys are checked with ValidKey and tenant
// ids with ids.Valid; both are bound into the encryption, so a blob opens
// only as the tenant and key it was written for. Implementations are safe
// for concurrent use.
type Blob interface {
	// Put stores everything r yields under key, replacing any blob there,
	// and returns how many bytes it read. The blob appears whole or not at
	// all: a failed Put leaves the previous blob, if any, in place.
	Put(ctx context.Context, tenant ids.TenantID, key string, r io.Reader) (size int64, err error)

	// Get returns a reader of the blob under key. It fails with ErrNotFound
	// if there is none. Get or a later Read fails with ErrTampered if the
	// blob was changed, cut short, extended or moved; errors of Keys (such as
	// a shredded tenant's) are passed on. Any Read error other than io.EOF
	// means the blob is unreadable. The caller must close the reader.
	Get(ctx context.Context, tenant ids.TenantID, key string) (io.ReadCloser, error)

	// Delete removes the blob under key. Removing a missing blob succeeds.
	Delete(ctx context.Context, tenant ids.TenantID, key string) error

	// DeleteTenant removes every blob of tenant. Removing a tenant without
	// blobs succeeds.
	DeleteTenant(ctx context.Context, tenant ids.TenantID) error
}

// Keys gives the blob store a tenant's data keys as AEADs, never as bytes.
// keys.Service implements it. The AEADs must choose their own random nonces
// (NonceSize 0, the nonce carried in the ciphertext, as
// cipher.NewGCMWithRandomNonce does).
type Keys interface {
	// CurrentKey returns the tenant's newest data key version and an AEAD
	// under it, creating the tenant's first key if need be.
	CurrentKey(ctx context.Context, tenant ids.TenantID) (version uint32, aead cipher.AEAD, err error)

	// KeyVersion returns an AEAD under the given version of the tenant's
	// data key.
	KeyVersion(ctx context.Context, tenant ids.TenantID, version uint32) (cipher.AEAD, error)
}

// Errors of this package and its implementations. Test for them with
// errors.Is.
var (
	// ErrNotFound reports that there is no blob under the key.
	ErrNotFound = errs.E(errs.NotFound, "No such file.")

	// ErrInvalidKey reports a blob key or tenant id that is not valid.
	ErrInvalidKey = errs.E(errs.Invalid, "The file name is not valid.")

	// ErrTampered reports a stored blob that failed authentication:
	// changed, truncated, extended, reordered, or moved from another tenant
	// or key. It is Internal: the operator must see it in the logs.
	ErrTampered = errs.E(errs.Internal, "A stored file failed its integrity check and was not returned.")
)

// MaxKeyLen is the longest valid blob key, in bytes.
const MaxKeyLen = 512

// ValidKey checks a blob key: 1 to MaxKeyLen bytes of segments separated by
// single '/', each segment made of ASCII letters, digits, '.', '-' and '_'
// and not starting with '.'. So no "..", no absolute paths, no backslashes,
// no NUL and no empty segments: a key never names anything outside its
// tenant's space, whatever the storage does with it. It returns an error
// wrapping ErrInvalidKey.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: a key must be 1 to %d bytes", ErrInvalidKey, MaxKeyLen)
	}
	start := true // at the start of a segment
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '/':
			if start {
				return fmt.Errorf("%w: empty segment", ErrInvalidKey)
			}
			start = true
			continue
		case c == '.':
			if start {
				return fmt.Errorf("%w: a segment starts with '.'", ErrInvalidKey)
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return fmt.Errorf("%w: byte %d is not allowed", ErrInvalidKey, i)
		}
		start = false
	}
	if start {
		return fmt.Errorf("%w: empty segment", ErrInvalidKey)
	}
	return nil
}

// Valid checks a tenant id and a blob key, as every Blob method must before
// touching storage. Its errors wrap ErrInvalidKey.
func Valid(tenant ids.TenantID, key string) error {
	if !ids.Valid(string(tenant)) {
		return fmt.Errorf("%w: tenant id", ErrInvalidKey)
	}
	return ValidKey(key)
}
