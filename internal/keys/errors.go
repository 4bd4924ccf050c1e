package keys

import (
	"errors"

	"github.com/kaigi/kaigi/internal/errs"
)

// Errors that can reach a request carry an errs code and a message safe to
// show. Test for them with errors.Is; the returned errors wrap them with
// details for the logs (never key material or plaintext).
var (
	// ErrTampered reports a ciphertext that failed authentication: a byte
	// was changed, it was truncated, it is not a Kaigi ciphertext, or it was
	// moved to another tenant, object or key version. It is Internal: stored
	// data that fails its integrity check is something the operator must
	// see in the logs, not a mistake of the user.
	ErrTampered = errs.E(errs.Internal, "Stored data failed its integrity check and was not returned.")

	// ErrShredded reports that the tenant's keys were destroyed: its data can
	// no longer be opened and nothing new can be sealed for it.
	ErrShredded = errs.E(errs.NotFound, "This data was permanently deleted: its encryption keys were destroyed.")

	// ErrInvalid reports a bad argument: a tenant id that is not valid, or an
	// AAD with an empty or overlong kind or id.
	ErrInvalid = errs.E(errs.Invalid, "The request names an invalid tenant or object.")

	// ErrVersionExists is returned by Store.AddDataKey when the tenant
	// already has a data key of that version.
	ErrVersionExists = errs.E(errs.Conflict, "That key version already exists.")

	// ErrKeyDestroyed is returned by a KeyProvider for a KEK that was
	// destroyed. The Service reports it as ErrShredded (the returned error
	// matches both).
	ErrKeyDestroyed = errs.E(errs.NotFound, "The encryption key was destroyed.")

	// ErrKeyNotFound is returned by a KeyProvider for a KEK id it has never
	// held.
	ErrKeyNotFound = errs.E(errs.Internal, "An encryption key is missing.")
)

// Errors met when starting up with a keyring and a master key. They are meant
// for the operator (errs.CodeOf reports them as Internal) and say what to do.
var (
	// ErrWrongMasterKey reports a master key that does not open the keyring.
	ErrWrongMasterKey = errors.New("keys: the master key does not open this keyring; " +
		"check that KAIGI_MASTER_KEY_FILE names the master key this data directory was created with " +
		"(the keyring file was left untouched; if the key is right, the file's header is damaged: restore it from a backup)")

	// ErrCorruptKeyring reports a keyring file that is damaged or truncated.
	ErrCorruptKeyring = errors.New("keys: the keyring file is damaged or truncated; " +
		"restore it from a backup (it was left untouched; do not delete it: without it no tenant data can be decrypted)")

	// ErrUnsupportedFormat reports a keyring file written in a format this
	// build does not know, probably by a newer Kaigi.
	ErrUnsupportedFormat = errors.New("keys: the keyring file has a format version this build does not support; " +
		"run the Kaigi version that wrote it or a newer one (the file was left untouched)")

	// ErrMalformedMasterKey reports a master key file that does not hold
	// exactly one line of 64 hex digits (32 random bytes).
	ErrMalformedMasterKey = errors.New("keys: the master key file must hold 32 random bytes as 64 hex digits on one line " +
		"(for example the output of `openssl rand -hex 32`); the file was left untouched")

	// ErrInsecurePermissions reports a key file that others than its owner
	// may read or write.
	ErrInsecurePermissions = errors.New("keys: key file permissions are too open; " +
		"only its owner may read it: run chmod 600 on it")
)
