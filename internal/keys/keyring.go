package keys

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/ids"
)

// The keyring file:
//
//	magic "KAIGI-KR" (8) | format 0x01 (1) | key check value (16) | nonce (12) | sealed payload and GCM tag
//
// The payload is sealed with AES-256-GCM under a key derived from the master
// key (HKDF-SHA256, info "kaigi keyring seal v1"), with the 25 header bytes as
// additional data. The key check value is a second HKDF output (info "kaigi
// keyring check v1"): it tells a wrong master key apart from a damaged file
// without revealing anything about the master key.
const (
	keyringMagic    = "KAIGI-KR"
	keyringFormatV1 = 0x01
	kcvSize         = 16
	keyringHeader   = len(keyringMagic) + 1 + kcvSize
	gcmOverhead     = 12 + 16 // random nonce and tag
	maxKeyringFile  = 64 << 20
)

// A wrapped data key: format 0x01 | nonce (12) | sealed key (32) | tag (16).
const (
	wrapFormatV1 = 0x01
	wrappedSize  = 1 + gcmOverhead + KeySize
)

// kekIDPrefix marks KEK ids issued by LocalKeyring, so that ids from several
// providers can coexist during a migration.
const kekIDPrefix = "local-"

// Entry states in the payload.
const (
	stateLive      = 1
	stateDestroyed = 2
)

// LocalKeyring is the embedded KeyProvider: the KEKs live in one file in the
// data directory, mode 0600, the whole file sealed under the MasterKey.
//
// The keyring is copied on write: each change builds a new keyring, writes
// it to a temporary file, syncs it and renames it over the old one, and only
// then makes it current. Readers never take a lock. Destroyed KEKs leave a
// tombstone (id, tenant, time) without key material, so that Unwrap can say
// ErrKeyDestroyed rather than ErrKeyNotFound. Several processes on one
// machine may share a keyring file (nodes sharing a data directory): a
// change takes an exclusive lock on a lock file beside it, re-reads the
// file and applies the change to what is there, and a KEK this process has
// not seen is looked for in the file before it is called unknown. Nodes on
// different machines need a shared KeyProvider (a KMS). LocalKeyring is
// safe for concurrent use.
type LocalKeyring struct {
	path  string
	seal  cipher.AEAD
	check [kcvSize]byte
	now   func() time.Time

	mu  sync.Mutex // serialises changes
	cur atomic.Pointer[ring]
}

var _ KeyProvider = (*LocalKeyring)(nil)

// ring is one immutable version of the keyring.
type ring struct {
	keks map[string]*kek
}

// kek is one KEK entry; immutable once in a ring.
type kek struct {
	id        string
	tenant    ids.TenantID
	created   time.Time
	destroyed time.Time   // zero while live
	key       kekKey      // empty once destroyed
	aead      cipher.AEAD // nil once destroyed
}

// OpenLocalKeyring opens the keyring file at path, sealed under master, or
// creates an empty one (and its directory, mode 0700) if there is no file.
//
// An existing file is never overwritten or re-initialised when it cannot be
// opened: the error is ErrWrongMasterKey if master is not the key it was
// sealed with, ErrCorruptKeyring if it is damaged or truncated,
// ErrUnsupportedFormat if a newer Kaigi wrote it, and ErrInsecurePermissions
// if group or others may access it.
func OpenLocalKeyring(path string, master MasterKey) (*LocalKeyring, error) {
	if master.IsZero() {
		return nil, errors.New("keys: open keyring: no master key")
	}
	k := &LocalKeyring{path: path, now: clock.Real{}.Now}
	if err := k.derive(master); err != nil {
		return nil, err
	}
	data, err := readKeyFile(path, maxKeyringFile)
	if errors.Is(err, fs.ErrNotExist) {
		r := &ring{keks: map[string]*kek{}}
		sealed, encErr := k.encode(r)
		if encErr != nil {
			return nil, encErr
		}
		created, createErr := createFile(path, sealed)
		if createErr != nil {
			return nil, fmt.Errorf("keys: create keyring: %w", createErr)
		}
		if created {
			k.cur.Store(r)
			return k, nil
		}
		// Another process created it in the meantime: open that one.
		data, err = readKeyFile(path, maxKeyringFile)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: open keyring: %w", err)
	}
	r, err := k.decode(data)
	if err != nil {
		return nil, fmt.Errorf("open keyring %s: %w", path, err)
	}
	k.cur.Store(r)
	return k, nil
}

// derive sets the file sealing key and the key check value from master.
func (k *LocalKeyring) derive(master MasterKey) error {
	sealKey, err := hkdf.Key(sha256.New, master.b[:], nil, "kaigi keyring seal v1", KeySize)
	if err != nil {
		return fmt.Errorf("keys: derive keyring key: %w", err)
	}
	defer clear(sealKey)
	check, err := hkdf.Key(sha256.New, master.b[:], nil, "kaigi keyring check v1", kcvSize)
	if err != nil {
		return fmt.Errorf("keys: derive keyring check: %w", err)
	}
	copy(k.check[:], check)
	b := new([KeySize]byte)
	copy(b[:], sealKey)
	k.seal, err = newAEAD(b)
	clear(b[:])
	return err
}

// CreateKEK implements KeyProvider. It returns an id "local-" followed by a
// UUIDv7.
func (k *LocalKeyring) CreateKEK(ctx context.Context, tenant ids.TenantID) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !ids.Valid(string(tenant)) {
		return "", fmt.Errorf("keys: create KEK: %w", ErrInvalid)
	}
	b, err := randomKey()
	if err != nil {
		return "", err
	}
	aead, err := newAEAD(b)
	if err != nil {
		return "", err
	}
	e := &kek{
		id:      kekIDPrefix + ids.New(),
		tenant:  tenant,
		created: k.now().UTC(),
		key:     kekKey{b: b},
		aead:    aead,
	}
	err = k.change(func(keks map[string]*kek) error {
		keks[e.id] = e
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("keys: create KEK: %w", err)
	}
	return e.id, nil
}

// Wrap implements KeyProvider.
func (k *LocalKeyring) Wrap(ctx context.Context, kekID string, dek DataKey, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dek.IsZero() {
		return nil, errors.New("keys: wrap: empty data key")
	}
	e, err := k.live(kekID)
	if err != nil {
		return nil, fmt.Errorf("keys: wrap: %w", err)
	}
	out := make([]byte, 1, wrappedSize)
	out[0] = wrapFormatV1
	return e.aead.Seal(out, nil, dek.b[:], wrapAAD(e, aad)), nil
}

// Unwrap implements KeyProvider.
func (k *LocalKeyring) Unwrap(ctx context.Context, kekID string, wrapped, aad []byte) (DataKey, error) {
	if err := ctx.Err(); err != nil {
		return DataKey{}, err
	}
	e, err := k.live(kekID)
	if err != nil {
		return DataKey{}, fmt.Errorf("keys: unwrap: %w", err)
	}
	if len(wrapped) != wrappedSize || wrapped[0] != wrapFormatV1 {
		return DataKey{}, fmt.Errorf("keys: unwrap: %w: wrapped key has the wrong size or format", ErrTampered)
	}
	b := new([KeySize]byte)
	pt, err := e.aead.Open(b[:0], nil, wrapped[1:], wrapAAD(e, aad))
	if err != nil || len(pt) != KeySize {
		clear(b[:])
		return DataKey{}, fmt.Errorf("keys: unwrap: %w: wrapped key failed authentication", ErrTampered)
	}
	return DataKey{b: b}, nil
}

// Destroy implements KeyProvider. The KEK's bytes are gone from the keyring
// file once Destroy returns; what the filesystem, its snapshots or backups
// kept of older versions of the file is outside its reach.
func (k *LocalKeyring) Destroy(ctx context.Context, kekID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := k.change(func(keks map[string]*kek) error {
		e := keks[kekID]
		switch {
		case e == nil:
			return ErrKeyNotFound
		case !e.destroyed.IsZero():
			return errUnchanged
		}
		keks[kekID] = &kek{id: e.id, tenant: e.tenant, created: e.created, destroyed: k.now().UTC()}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keys: destroy KEK %s: %w", kekID, err)
	}
	return nil
}

// errUnchanged tells change that there is nothing to write.
var errUnchanged = errors.New("unchanged")

// change applies edit to a copy of the current KEKs, writes the result to the
// file and makes it current. The current keyring is left as it was if edit or
// the write fails.
func (k *LocalKeyring) change(edit func(map[string]*kek) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	unlock, err := lockFile(k.path + ".lock")
	if err != nil {
		return fmt.Errorf("lock the keyring: %w", err)
	}
	defer unlock()
	// Another process may have changed the file since this one read it.
	if err := k.reloadLocked(); err != nil {
		return err
	}
	next := &ring{keks: maps.Clone(k.cur.Load().keks)}
	if err := edit(next.keks); err != nil {
		if err == errUnchanged {
			return nil
		}
		return err
	}
	sealed, err := k.encode(next)
	if err != nil {
		return err
	}
	if err := replaceFile(k.path, sealed); err != nil {
		return err
	}
	k.cur.Store(next)
	return nil
}

// reloadLocked makes the file's current content current here; k.mu held.
func (k *LocalKeyring) reloadLocked() error {
	data, err := readKeyFile(k.path, maxKeyringFile)
	if err != nil {
		return fmt.Errorf("keys: reread keyring: %w", err)
	}
	r, err := k.decode(data)
	if err != nil {
		return fmt.Errorf("keys: reread keyring %s: %w", k.path, err)
	}
	k.cur.Store(r)
	return nil
}

// live returns the live KEK kekID, looking in the file once more when this
// process has not seen it (another process sharing the file made it).
func (k *LocalKeyring) live(kekID string) (*kek, error) {
	if k.cur.Load().keks[kekID] == nil {
		k.mu.Lock()
		if k.cur.Load().keks[kekID] == nil {
			if err := k.reloadLocked(); err != nil {
				k.mu.Unlock()
				return nil, err
			}
		}
		k.mu.Unlock()
	}
	e := k.cur.Load().keks[kekID]
	switch {
	case e == nil:
		return nil, fmt.Errorf("%w: no KEK %q in the local keyring", ErrKeyNotFound, kekID)
	case !e.destroyed.IsZero():
		return nil, fmt.Errorf("%w: KEK %s was destroyed at %s", ErrKeyDestroyed, kekID, e.destroyed.Format(time.RFC3339))
	}
	return e, nil
}

// wrapAAD binds a wrapped key to its KEK, the KEK's tenant and the caller's
// context.
func wrapAAD(e *kek, aad []byte) []byte {
	b := make([]byte, 0, 64+len(e.id)+len(e.tenant)+len(aad))
	b = appendField(b, "kaigi.keys.wrap.v1")
	b = appendField(b, e.id)
	b = appendField(b, string(e.tenant))
	return appendField(b, string(aad))
}

// encode serialises and seals r into the file format.
func (k *LocalKeyring) encode(r *ring) ([]byte, error) {
	var p []byte
	p = binary.BigEndian.AppendUint32(p, uint32(len(r.keks)))
	for _, id := range slices.Sorted(maps.Keys(r.keks)) {
		e := r.keks[id]
		p = appendField(p, e.id)
		p = appendField(p, string(e.tenant))
		p = binary.BigEndian.AppendUint64(p, uint64(e.created.UnixNano()))
		if e.destroyed.IsZero() {
			p = append(p, stateLive)
			p = append(p, e.key.b[:]...)
		} else {
			p = append(p, stateDestroyed)
			p = binary.BigEndian.AppendUint64(p, uint64(e.destroyed.UnixNano()))
		}
	}
	defer clear(p)
	out := make([]byte, 0, keyringHeader+gcmOverhead+len(p))
	out = append(out, keyringMagic...)
	out = append(out, keyringFormatV1)
	out = append(out, k.check[:]...)
	return k.seal.Seal(out, nil, p, out[:keyringHeader]), nil
}

// decode checks and opens a keyring file. Its errors wrap ErrCorruptKeyring,
// ErrUnsupportedFormat or ErrWrongMasterKey.
func (k *LocalKeyring) decode(data []byte) (*ring, error) {
	corrupt := func(detail string) error { return fmt.Errorf("%s: %w", detail, ErrCorruptKeyring) }
	switch {
	case len(data) == 0:
		return nil, corrupt("the file is empty")
	case len(data) < len(keyringMagic)+1:
		return nil, corrupt("the file is truncated")
	case string(data[:len(keyringMagic)]) != keyringMagic:
		return nil, corrupt("the file does not start like a Kaigi keyring")
	case data[len(keyringMagic)] != keyringFormatV1:
		return nil, fmt.Errorf("format %d: %w", data[len(keyringMagic)], ErrUnsupportedFormat)
	case len(data) < keyringHeader+gcmOverhead:
		return nil, corrupt("the file is truncated")
	}
	if subtle.ConstantTimeCompare(data[len(keyringMagic)+1:keyringHeader], k.check[:]) != 1 {
		return nil, ErrWrongMasterKey
	}
	p, err := k.seal.Open(nil, nil, data[keyringHeader:], data[:keyringHeader])
	if err != nil {
		return nil, corrupt("the content failed authentication (changed or truncated)")
	}
	defer clear(p)
	r, err := decodeRing(p)
	if err != nil {
		return nil, corrupt(err.Error())
	}
	return r, nil
}

// decodeRing parses an opened payload.
func decodeRing(p []byte) (*ring, error) {
	d := decoder{b: p}
	n := d.uint32()
	if d.err != nil || uint64(n) > uint64(len(p)) {
		return nil, errors.New("bad entry count")
	}
	r := &ring{keks: make(map[string]*kek, n)}
	for range n {
		e := &kek{id: d.field(), tenant: ids.TenantID(d.field())}
		e.created = time.Unix(0, int64(d.uint64())).UTC()
		switch d.byte() {
		case stateLive:
			b := new([KeySize]byte)
			copy(b[:], d.next(KeySize))
			e.key = kekKey{b: b}
		case stateDestroyed:
			e.destroyed = time.Unix(0, int64(d.uint64())).UTC()
		default:
			d.fail()
		}
		if d.err != nil {
			return nil, errors.New("bad entry")
		}
		if _, dup := r.keks[e.id]; dup || e.id == "" || !ids.Valid(string(e.tenant)) {
			return nil, errors.New("bad entry")
		}
		if e.key.b != nil {
			var err error
			if e.aead, err = newAEAD(e.key.b); err != nil {
				return nil, errors.New("bad key")
			}
		}
		r.keks[e.id] = e
	}
	if len(d.b) != 0 {
		return nil, errors.New("trailing bytes")
	}
	return r, nil
}

// decoder reads big-endian, length-prefixed fields; after the first error
// every read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err = errors.New("short or malformed payload") }

func (d *decoder) next(n int) []byte {
	if d.err != nil || n < 0 || len(d.b) < n {
		d.fail()
		// Zeros that the fixed-size readers below can index; never a
		// large allocation driven by a damaged length.
		return make([]byte, min(max(n, 0), 8))
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte     { return d.next(1)[0] }
func (d *decoder) uint32() uint32 { return binary.BigEndian.Uint32(d.next(4)) }
func (d *decoder) uint64() uint64 { return binary.BigEndian.Uint64(d.next(8)) }
func (d *decoder) field() string  { return string(d.next(int(d.uint32()))) }
