package keys

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
)

// WrappedDataKey is one version of a tenant's data key as stored: wrapped by
// the KEK KEKID of a KeyProvider. Nothing in it is secret on its own.
type WrappedDataKey struct {
	Tenant  ids.TenantID
	Version uint32    // 1, 2, 3…; the highest is the tenant's current key
	KEKID   string    // the provider's KEK that wrapped it; at most 255 bytes
	Wrapped []byte    // the provider's output; at most a few hundred bytes
	Created time.Time // when the version was added
}

// Store persists wrapped data keys. The SQL store implements it for the
// service; NewMemoryStore for tests. keystest.Run checks an implementation
// against the guarantees below.
//
// Implementations must be safe for concurrent use, including by several
// processes sharing one database.
type Store interface {
	// DataKeys returns every wrapped data key of tenant in ascending version
	// order: an empty slice for a tenant that has none yet, ErrShredded once
	// DeleteDataKeys ran for it.
	DataKeys(ctx context.Context, tenant ids.TenantID) ([]WrappedDataKey, error)

	// AddDataKey stores k. It fails with ErrVersionExists if k.Tenant already
	// has k.Version (also when two callers race for it: exactly one wins),
	// and with ErrShredded once DeleteDataKeys ran for k.Tenant.
	AddDataKey(ctx context.Context, k WrappedDataKey) error

	// DeleteDataKeys deletes every wrapped data key of tenant and records
	// that the tenant was shredded, for good: afterwards DataKeys and
	// AddDataKey fail with ErrShredded. It succeeds for a tenant with no
	// keys and when repeated.
	DeleteDataKeys(ctx context.Context, tenant ids.TenantID) error
}

// MemoryStore is a Store in memory, for tests. It is safe for concurrent use.
type MemoryStore struct {
	mu       sync.Mutex
	keys     map[ids.TenantID][]WrappedDataKey
	shredded map[ids.TenantID]bool
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		keys:     make(map[ids.TenantID][]WrappedDataKey),
		shredded: make(map[ids.TenantID]bool),
	}
}

// DataKeys implements Store.
func (m *MemoryStore) DataKeys(ctx context.Context, tenant ids.TenantID) ([]WrappedDataKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shredded[tenant] {
		return nil, ErrShredded
	}
	out := make([]WrappedDataKey, 0, len(m.keys[tenant]))
	for _, k := range m.keys[tenant] {
		k.Wrapped = slices.Clone(k.Wrapped)
		out = append(out, k)
	}
	return out, nil
}

// AddDataKey implements Store.
func (m *MemoryStore) AddDataKey(ctx context.Context, k WrappedDataKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shredded[k.Tenant] {
		return ErrShredded
	}
	list := m.keys[k.Tenant]
	i, found := slices.BinarySearchFunc(list, k.Version, func(e WrappedDataKey, v uint32) int {
		return cmp.Compare(e.Version, v)
	})
	if found {
		return ErrVersionExists
	}
	k.Wrapped = slices.Clone(k.Wrapped)
	m.keys[k.Tenant] = slices.Insert(list, i, k)
	return nil
}

// DeleteDataKeys implements Store.
func (m *MemoryStore) DeleteDataKeys(ctx context.Context, tenant ids.TenantID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, tenant)
	m.shredded[tenant] = true
	return nil
}
