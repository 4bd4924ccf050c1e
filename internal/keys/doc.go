// Package keys encrypts tenant data at rest with per-tenant, versioned data
// keys, and destroys those keys when a tenant's data must become unreadable.
//
// # Key hierarchy
//
// There are three kinds of key, each in its own type:
//
//   - The MasterKey (32 random bytes in a 0600 file outside the database)
//     seals the LocalKeyring file. It never encrypts tenant data.
//   - A key-encryption key (KEK) per tenant lives in a KeyProvider: the
//     LocalKeyring file by default, an external KMS or HSM at scale. KEK
//     material never leaves the provider; the provider only wraps and unwraps
//     data keys.
//   - Data keys (DataKey, DEK) encrypt content. Each tenant has numbered
//     versions 1, 2, 3…; the newest seals new data and every older version
//     still opens old data. DEKs are stored only wrapped by the tenant's KEK,
//     through a Store (SQL in production, NewMemoryStore in tests).
//
// Key types cannot be compared with ==, compare in constant time with Equal,
// and print as a redacted placeholder under fmt, %#v and log/slog.
//
// # Sealing
//
// Service.Seal encrypts a value with AES-256-GCM under the tenant's newest
// data key. The additional authenticated data binds the ciphertext to where it
// belongs: the tenant, an object kind and id (AAD), and the key version. A
// ciphertext copied to another tenant, another row or another kind of object
// fails to open, as does one with any byte changed or missing. The layout
// follows Vault's barrier:
//
//	format (1 byte, 0x01) | key version (uint32, big-endian) | nonce (12 bytes) | GCM ciphertext and tag
//
// Nonces are random, so a single data key must not seal more than 2^32
// values; rotate well before that.
//
// # Rotation and shredding
//
// Service.Rotate adds a data key version; new seals use it at once, old
// ciphertexts keep opening. Re-encrypting old data under the new version is
// the caller's background job.
//
// Service.Shred destroys the tenant's KEKs in the provider and then deletes
// its wrapped data keys, leaving a tombstone in the Store. From then on every
// ciphertext of the tenant, wherever a copy survives (rows, blobs, database
// backups), fails to open with ErrShredded, and the tenant can never seal
// again. A Service caches unwrapped data keys for at most Options.CacheTTL, so
// other nodes stop opening a shredded tenant's data within that time. Backups
// of the keyring file together with the master key would still hold the
// destroyed KEK: keep keyring backups on a short retention.
//
// # Providers
//
// A KeyProvider holds KEKs and wraps data keys with AES-256-GCM (or whatever
// the KMS offers) binding the KEK id, its tenant and the caller's context as
// additional data. LocalKeyring is the embedded implementation: one file, the
// whole of it sealed under the master key, rewritten atomically on every
// change and never re-initialised over an existing file. Provider authors can
// check an implementation with keystest.RunProvider, and Store authors with
// keystest.Run.
//
// # Errors
//
// Failures are reported with the ErrX values of this package, which callers
// test with errors.Is. No error ever contains key material or plaintext.
package keys
