package keys

import (
	"container/list"
	"context"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/ids"
)

// A sealed value: format (1) | key version (4, big-endian) | nonce (12) |
// ciphertext | tag (16).
const (
	sealFormatV1 = 0x01
	sealHeader   = 1 + 4
	// SealOverhead is how many bytes Seal adds to a plaintext.
	SealOverhead = sealHeader + gcmOverhead
)

// Limits on AAD fields.
const (
	maxKindLen = 128
	maxIDLen   = 1024
)

// AAD says what a sealed value is, so that it opens only as that: the same
// Kind and ID must be given to Open as to Seal. The tenant and key version are
// bound in as well, by the Service.
type AAD struct {
	Kind string // the kind of object, e.g. "chat.message"; 1 to 128 bytes
	ID   string // the object's id, e.g. the message id; 1 to 1024 bytes
}

// Options tune a Service. The zero value is ready to use.
type Options struct {
	// Clock stamps new key versions and ages the cache. Default clock.Real.
	Clock clock.Clock

	// CacheTTL is how long unwrapped data keys and a tenant's current
	// version are kept in memory before they are read from the Store and
	// unwrapped again. It bounds how long another node's Rotate goes
	// unnoticed here (old versions still seal meanwhile) and how long this
	// node can still open a tenant shredded by another node. A Rotate or
	// Shred through this Service takes effect here at once. Default 1
	// minute; negative disables the cache.
	CacheTTL time.Duration

	// CacheTenants bounds how many tenants' unwrapped keys are cached; the
	// least recently used tenant is dropped first. Default 1024.
	CacheTenants int

	// Logger receives key lifecycle events (tenant ids and versions, never
	// key material). Default: discard.
	Logger *slog.Logger
}

// Service seals and opens tenant data under per-tenant, versioned data keys,
// rotates and shreds them. It is safe for concurrent use.
type Service struct {
	provider KeyProvider
	store    Store
	clock    clock.Clock
	ttl      time.Duration
	log      *slog.Logger

	seed  maphash.Seed
	locks [64]sync.Mutex // per-tenant (striped): loads, rotation, shredding

	mu    sync.Mutex // guards cache and every entry in it
	cache *tenantCache
}

// New returns a Service that keeps KEKs in provider and wrapped data keys in
// store.
func New(provider KeyProvider, store Store, opts Options) *Service {
	if provider == nil || store == nil {
		panic("keys: New needs a provider and a store")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = time.Minute
	}
	if opts.CacheTenants <= 0 {
		opts.CacheTenants = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		provider: provider,
		store:    store,
		clock:    opts.Clock,
		ttl:      opts.CacheTTL,
		log:      opts.Logger,
		seed:     maphash.MakeSeed(),
		cache:    newTenantCache(opts.CacheTenants),
	}
}

// Seal encrypts plaintext for tenant under its newest data key, binding
// tenant, aad and the key version, and returns format | version | nonce |
// ciphertext (len(plaintext)+SealOverhead bytes). The tenant's first Seal
// creates its KEK and data key version 1. Seal fails with ErrShredded for a
// shredded tenant and ErrInvalid for a bad tenant id or AAD.
func (s *Service) Seal(ctx context.Context, tenant ids.TenantID, aad AAD, plaintext []byte) ([]byte, error) {
	if err := validate(tenant, aad); err != nil {
		return nil, fmt.Errorf("keys: seal: %w", err)
	}
	v, a, err := s.key(ctx, tenant, 0)
	if err != nil {
		return nil, fmt.Errorf("keys: seal: %w", err)
	}
	out := make([]byte, sealHeader, SealOverhead+len(plaintext))
	out[0] = sealFormatV1
	binary.BigEndian.PutUint32(out[1:], v)
	return a.Seal(out, nil, plaintext, sealAAD(tenant, aad, v)), nil
}

// Open decrypts a value sealed by Seal for the same tenant and aad, with
// whichever key version sealed it. It fails with ErrTampered if the
// ciphertext was changed, truncated, or sealed for another tenant, kind or
// id; with ErrShredded if the tenant was shredded; with ErrInvalid for a bad
// tenant id or AAD. It never panics on malformed input.
func (s *Service) Open(ctx context.Context, tenant ids.TenantID, aad AAD, ciphertext []byte) ([]byte, error) {
	if err := validate(tenant, aad); err != nil {
		return nil, fmt.Errorf("keys: open: %w", err)
	}
	if len(ciphertext) < SealOverhead {
		return nil, fmt.Errorf("keys: open: %w: ciphertext too short", ErrTampered)
	}
	if ciphertext[0] != sealFormatV1 {
		return nil, fmt.Errorf("keys: open: %w: unknown format", ErrTampered)
	}
	v := binary.BigEndian.Uint32(ciphertext[1:])
	if v == 0 {
		return nil, fmt.Errorf("keys: open: %w: key version 0", ErrTampered)
	}
	_, a, err := s.key(ctx, tenant, v)
	if err != nil {
		return nil, fmt.Errorf("keys: open: %w", err)
	}
	pt, err := a.Open(nil, nil, ciphertext[sealHeader:], sealAAD(tenant, aad, v))
	if err != nil {
		return nil, fmt.Errorf("keys: open: %w: authentication failed", ErrTampered)
	}
	return pt, nil
}

// CurrentKey returns the tenant's newest data key version and an AES-256-GCM
// AEAD under it, creating version 1 on first use like Seal. It is for
// packages with their own ciphertext format, such as blob's chunked streams.
//
// The AEAD draws a random nonce for every Seal and carries it in the output
// (NonceSize is 0, Overhead 28), so callers cannot reuse a nonce. Callers
// must bind the tenant and version in their additional data under a label of
// their own, distinct from Seal's, and must not keep the AEAD beyond the
// operation at hand, so that a Shred takes effect.
func (s *Service) CurrentKey(ctx context.Context, tenant ids.TenantID) (version uint32, aead cipher.AEAD, err error) {
	if !ids.Valid(string(tenant)) {
		return 0, nil, fmt.Errorf("keys: current key: %w", ErrInvalid)
	}
	v, a, err := s.key(ctx, tenant, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("keys: current key: %w", err)
	}
	return v, a, nil
}

// KeyVersion returns an AEAD under version of the tenant's data key, on the
// same terms as CurrentKey. It fails with ErrTampered if the tenant has no
// such version and ErrShredded if the tenant was shredded.
func (s *Service) KeyVersion(ctx context.Context, tenant ids.TenantID, version uint32) (cipher.AEAD, error) {
	if !ids.Valid(string(tenant)) {
		return nil, fmt.Errorf("keys: key version: %w", ErrInvalid)
	}
	if version == 0 {
		return nil, fmt.Errorf("keys: key version: %w: key version 0", ErrTampered)
	}
	_, a, err := s.key(ctx, tenant, version)
	if err != nil {
		return nil, fmt.Errorf("keys: key version: %w", err)
	}
	return a, nil
}

// Rotate adds a new data key version for tenant, wrapped under the tenant's
// KEK, and returns it. New seals use it from now on (on other nodes within
// Options.CacheTTL); older versions keep opening old data. Rotating a tenant
// that has no key yet creates version 1. Re-encrypting old data is up to the
// caller.
func (s *Service) Rotate(ctx context.Context, tenant ids.TenantID) (uint32, error) {
	if !ids.Valid(string(tenant)) {
		return 0, fmt.Errorf("keys: rotate: %w", ErrInvalid)
	}
	l := s.lock(tenant)
	l.Lock()
	defer l.Unlock()
	defer s.forget(tenant)

	// Another node may add a version at the same time; try again on top of
	// it a few times.
	for range 3 {
		rows, err := s.store.DataKeys(ctx, tenant)
		if err != nil {
			return 0, fmt.Errorf("keys: rotate: %w", err)
		}
		if len(rows) == 0 {
			e, err := s.create(ctx, tenant)
			if err != nil {
				return 0, fmt.Errorf("keys: rotate: %w", err)
			}
			return e.current, nil
		}
		last := rows[len(rows)-1]
		if last.Version == math.MaxUint32 {
			return 0, errors.New("keys: rotate: no key versions left")
		}
		row, _, err := s.addVersion(ctx, tenant, last.KEKID, last.Version+1)
		if errors.Is(err, ErrVersionExists) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("keys: rotate: %w", err)
		}
		s.log.InfoContext(ctx, "data key rotated", "tenant", tenant, "version", row.Version)
		return row.Version, nil
	}
	return 0, fmt.Errorf("keys: rotate: %w: concurrent rotations kept winning", ErrVersionExists)
}

// Shred makes every ciphertext of tenant unreadable for good: it destroys the
// tenant's KEKs in the provider, which is what makes its data keys
// unrecoverable wherever a copy survives, and then deletes the wrapped data
// keys, leaving a tombstone in the Store. Afterwards Open, Seal, CurrentKey
// and KeyVersion fail with ErrShredded, through this Service at once and
// through a fresh one too. Shredding a shredded tenant succeeds; a Shred that
// failed half-way can be repeated.
func (s *Service) Shred(ctx context.Context, tenant ids.TenantID) error {
	if !ids.Valid(string(tenant)) {
		return fmt.Errorf("keys: shred: %w", ErrInvalid)
	}
	l := s.lock(tenant)
	l.Lock()
	defer l.Unlock()
	s.forget(tenant)

	rows, err := s.store.DataKeys(ctx, tenant)
	if errors.Is(err, ErrShredded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keys: shred: %w", err)
	}
	// Destroy first: once the KEKs are gone the data is unreadable even if
	// deleting the rows then fails, and a retry finds the rows again.
	done := map[string]bool{}
	for _, r := range rows {
		if done[r.KEKID] {
			continue
		}
		if err := s.provider.Destroy(ctx, r.KEKID); err != nil {
			return fmt.Errorf("keys: shred: %w", err)
		}
		done[r.KEKID] = true
	}
	if err := s.store.DeleteDataKeys(ctx, tenant); err != nil {
		return fmt.Errorf("keys: shred: KEKs destroyed but wrapped keys not deleted: %w", err)
	}
	s.log.InfoContext(ctx, "tenant keys shredded", "tenant", tenant, "versions", len(rows), "keks", len(done))
	return nil
}

// key returns the AEAD for the tenant's data key version v, or for its newest
// version (creating version 1 if need be) when v is 0, with the version.
func (s *Service) key(ctx context.Context, tenant ids.TenantID, v uint32) (uint32, cipher.AEAD, error) {
	if v, a := s.cached(tenant, v); a != nil {
		return v, a, nil
	}
	l := s.lock(tenant)
	l.Lock()
	defer l.Unlock()
	if v, a := s.cached(tenant, v); a != nil {
		return v, a, nil
	}

	s.mu.Lock()
	e := s.cache.get(tenant, s.clock.Now())
	s.mu.Unlock()
	if e == nil {
		rows, err := s.store.DataKeys(ctx, tenant)
		if err != nil {
			return 0, nil, err
		}
		if len(rows) == 0 && v == 0 {
			if e, err = s.create(ctx, tenant); err != nil {
				return 0, nil, err
			}
		} else {
			e = s.newEntry(tenant, rows)
		}
	}
	if v == 0 {
		v = e.current
	}
	s.mu.Lock()
	a := e.aeads[v]
	s.mu.Unlock()
	if a == nil {
		row, ok := e.rows[v]
		if !ok {
			return 0, nil, fmt.Errorf("%w: tenant has no data key version %d", ErrTampered, v)
		}
		dek, err := s.provider.Unwrap(ctx, row.KEKID, row.Wrapped, dekAAD(tenant, v))
		if err != nil {
			if errors.Is(err, ErrKeyDestroyed) {
				err = fmt.Errorf("%w: %w", ErrShredded, err)
			}
			return 0, nil, err
		}
		if a, err = dek.aead(); err != nil {
			return 0, nil, err
		}
	}
	s.mu.Lock()
	e.aeads[v] = a
	s.cache.put(e)
	s.mu.Unlock()
	return v, a, nil
}

// create makes the tenant's KEK and data key version 1. If another process
// stored a version 1 first, it uses that one and destroys its own unused KEK.
// The caller holds the tenant's lock.
func (s *Service) create(ctx context.Context, tenant ids.TenantID) (*entry, error) {
	kekID, err := s.provider.CreateKEK(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if len(kekID) == 0 || len(kekID) > maxKEKIDLen {
		return nil, fmt.Errorf("keys: the key provider returned a KEK id of %d bytes (1 to %d allowed)", len(kekID), maxKEKIDLen)
	}
	row, a, err := s.addVersion(ctx, tenant, kekID, 1)
	if err == nil {
		e := s.newEntry(tenant, []WrappedDataKey{row})
		e.aeads[1] = a
		s.log.InfoContext(ctx, "tenant keys created", "tenant", tenant, "kek", kekID)
		return e, nil
	}
	// Nothing was wrapped under kekID that anyone stored: retire it.
	// context.WithoutCancel: the cleanup must outlive a cancelled request.
	if derr := s.provider.Destroy(context.WithoutCancel(ctx), kekID); derr != nil {
		s.log.WarnContext(ctx, "destroy unused KEK", "tenant", tenant, "kek", kekID, "err", derr)
	}
	if !errors.Is(err, ErrVersionExists) {
		return nil, err
	}
	rows, err := s.store.DataKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("keys: data key version 1 exists but is not listed")
	}
	return s.newEntry(tenant, rows), nil
}

// addVersion makes a new data key, wraps it under kekID and stores it as
// version v.
func (s *Service) addVersion(ctx context.Context, tenant ids.TenantID, kekID string, v uint32) (WrappedDataKey, cipher.AEAD, error) {
	dek, err := NewDataKey()
	if err != nil {
		return WrappedDataKey{}, nil, err
	}
	a, err := dek.aead()
	if err != nil {
		return WrappedDataKey{}, nil, err
	}
	wrapped, err := s.provider.Wrap(ctx, kekID, dek, dekAAD(tenant, v))
	if err != nil {
		if errors.Is(err, ErrKeyDestroyed) {
			err = fmt.Errorf("%w: %w", ErrShredded, err)
		}
		return WrappedDataKey{}, nil, err
	}
	row := WrappedDataKey{Tenant: tenant, Version: v, KEKID: kekID, Wrapped: wrapped, Created: s.clock.Now().UTC()}
	if err := s.store.AddDataKey(ctx, row); err != nil {
		return WrappedDataKey{}, nil, err
	}
	return row, a, nil
}

// cached returns the cached AEAD for version v (0: the newest) of tenant's
// data key, or nil.
func (s *Service) cached(tenant ids.TenantID, v uint32) (uint32, cipher.AEAD) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.cache.get(tenant, s.clock.Now())
	if e == nil {
		return 0, nil
	}
	if v == 0 {
		v = e.current
	}
	return v, e.aeads[v]
}

// forget drops tenant from the cache.
func (s *Service) forget(tenant ids.TenantID) {
	s.mu.Lock()
	s.cache.remove(tenant)
	s.mu.Unlock()
}

func (s *Service) lock(tenant ids.TenantID) *sync.Mutex {
	return &s.locks[maphash.String(s.seed, string(tenant))%uint64(len(s.locks))]
}

// newEntry returns a cache entry for rows, not yet in the cache.
func (s *Service) newEntry(tenant ids.TenantID, rows []WrappedDataKey) *entry {
	e := &entry{
		tenant:  tenant,
		expires: s.clock.Now().Add(s.ttl),
		rows:    make(map[uint32]WrappedDataKey, len(rows)),
		aeads:   make(map[uint32]cipher.AEAD, 1),
	}
	for _, r := range rows {
		e.rows[r.Version] = r
		e.current = max(e.current, r.Version)
	}
	return e
}

// validate checks a tenant id and an AAD.
func validate(tenant ids.TenantID, aad AAD) error {
	switch {
	case !ids.Valid(string(tenant)):
		return fmt.Errorf("%w: tenant id", ErrInvalid)
	case aad.Kind == "" || len(aad.Kind) > maxKindLen:
		return fmt.Errorf("%w: AAD kind must be 1 to %d bytes", ErrInvalid, maxKindLen)
	case aad.ID == "" || len(aad.ID) > maxIDLen:
		return fmt.Errorf("%w: AAD id must be 1 to %d bytes", ErrInvalid, maxIDLen)
	}
	return nil
}

// sealAAD is the additional data of a sealed value: a label, then tenant,
// kind and id length-prefixed, then the key version.
func sealAAD(tenant ids.TenantID, aad AAD, v uint32) []byte {
	b := make([]byte, 0, 4*4+len("kaigi.keys.seal.v1")+len(tenant)+len(aad.Kind)+len(aad.ID)+4)
	b = appendField(b, "kaigi.keys.seal.v1")
	b = appendField(b, string(tenant))
	b = appendField(b, aad.Kind)
	b = appendField(b, aad.ID)
	return binary.BigEndian.AppendUint32(b, v)
}

// dekAAD is the context a data key is wrapped with: its tenant and version,
// so a wrapped key moved to another tenant or version does not unwrap.
func dekAAD(tenant ids.TenantID, v uint32) []byte {
	b := appendField(nil, "kaigi.keys.dek.v1")
	b = appendField(b, string(tenant))
	return binary.BigEndian.AppendUint32(b, v)
}

// entry is one tenant's cached keys. Its maps are guarded by Service.mu once
// it is in the cache.
type entry struct {
	tenant  ids.TenantID
	expires time.Time
	current uint32
	rows    map[uint32]WrappedDataKey
	aeads   map[uint32]cipher.AEAD
	elem    *list.Element
}

// tenantCache is a least-recently-used map of tenants to their entries, with
// entries expiring at entry.expires. Not safe for concurrent use.
type tenantCache struct {
	max   int
	order *list.List // front: most recently used
	byID  map[ids.TenantID]*entry
}

func newTenantCache(max int) *tenantCache {
	return &tenantCache{max: max, order: list.New(), byID: make(map[ids.TenantID]*entry)}
}

func (c *tenantCache) get(tenant ids.TenantID, now time.Time) *entry {
	e := c.byID[tenant]
	if e == nil {
		return nil
	}
	if !now.Before(e.expires) {
		c.remove(tenant)
		return nil
	}
	c.order.MoveToFront(e.elem)
	return e
}

func (c *tenantCache) put(e *entry) {
	if old := c.byID[e.tenant]; old != nil && old != e {
		c.remove(e.tenant)
	}
	if e.elem != nil {
		c.order.MoveToFront(e.elem)
		return
	}
	e.elem = c.order.PushFront(e)
	c.byID[e.tenant] = e
	for c.order.Len() > c.max {
		c.remove(c.order.Back().Value.(*entry).tenant)
	}
}

func (c *tenantCache) remove(tenant ids.TenantID) {
	if e := c.byID[tenant]; e != nil {
		c.order.Remove(e.elem)
		e.elem = nil
		delete(c.byID, tenant)
	}
}
