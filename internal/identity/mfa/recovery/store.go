package recovery

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// Store is what Redeem needs from storage. The identity service implements
// it over its database; NewMemoryStore is the in-process implementation.
type Store interface {
	// RecoveryCodes returns the user's Set, or an error with code
	// errs.NotFound if the user has none.
	RecoveryCodes(ctx context.Context, tenant ids.TenantID, user ids.UserID) (Set, error)

	// MarkRecoveryCodeUsed marks the code at index of the Set named setID
	// used at time at if, and only if, that Set is still the user's and
	// the code is still unused, and reports whether it did. It must be
	// atomic (UPDATE … SET used_at = at WHERE … AND set_id = setID AND idx
	// = index AND used_at IS NULL): this is what makes a code single-use
	// when two requests carry it at the same time, and what keeps a code
	// of a Set replaced meanwhile from using up a code of the new one.
	MarkRecoveryCodeUsed(ctx context.Context, tenant ids.TenantID, user ids.UserID, setID string, index int, at time.Time) (bool, error)
}

// Redeem verifies input against the user's codes and marks the matching
// code used at now. It returns the code's index, the errors of Verify,
// ErrCodeUsed if a concurrent request used the code first, and the store's
// errors (errs.NotFound when the user has no codes).
func Redeem(ctx context.Context, st Store, tenant ids.TenantID, user ids.UserID, input string, now time.Time) (int, error) {
	set, err := st.RecoveryCodes(ctx, tenant, user)
	if err != nil {
		return -1, err
	}
	i, err := Verify(set, input)
	if err != nil {
		return -1, err
	}
	ok, err := st.MarkRecoveryCodeUsed(ctx, tenant, user, set.ID, i, now)
	if err != nil {
		return -1, err
	}
	if !ok {
		return -1, ErrCodeUsed
	}
	return i, nil
}

// MemoryStore is a Store in memory, for tests and single-process use. It is
// safe for concurrent use.
type MemoryStore struct {
	mu   sync.Mutex
	sets map[memoryKey]Set
}

type memoryKey struct {
	tenant ids.TenantID
	user   ids.UserID
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{sets: make(map[memoryKey]Set)}
}

// Replace stores s as the user's Set, replacing any earlier one.
func (m *MemoryStore) Replace(tenant ids.TenantID, user ids.UserID, s Set) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sets[memoryKey{tenant, user}] = clone(s)
}

// RecoveryCodes implements Store.
func (m *MemoryStore) RecoveryCodes(_ context.Context, tenant ids.TenantID, user ids.UserID) (Set, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sets[memoryKey{tenant, user}]
	if !ok {
		return Set{}, errs.E(errs.NotFound, "No recovery codes are set up for this account.")
	}
	return clone(s), nil
}

// MarkRecoveryCodeUsed implements Store.
func (m *MemoryStore) MarkRecoveryCodeUsed(_ context.Context, tenant ids.TenantID, user ids.UserID, setID string, index int, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sets[memoryKey{tenant, user}]
	if !ok {
		return false, errs.E(errs.NotFound, "No recovery codes are set up for this account.")
	}
	if s.ID != setID || index < 0 || index >= len(s.Entries) || !s.Entries[index].UsedAt.IsZero() {
		return false, nil
	}
	s.Entries[index].UsedAt = at
	return true, nil
}

func clone(s Set) Set {
	out := Set{ID: s.ID, Salt: slices.Clone(s.Salt), Entries: make([]Entry, len(s.Entries))}
	for i, e := range s.Entries {
		out.Entries[i] = Entry{Hash: slices.Clone(e.Hash), UsedAt: e.UsedAt}
	}
	return out
}
