package totp

import (
	"context"
	"sync"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// Factor is a user's active TOTP factor as it is stored: the secret (sealed
// at rest by the store, via ExportSecret and ImportSecret) and the last
// accepted time step (not secret).
type Factor struct {
	// Secret is the factor's shared secret.
	Secret Secret
	// LastStep is the time step of the last accepted code (Unix time / 30
	// s), 0 if none; Verify accepts only later steps.
	LastStep uint64
}

// Store is what Check needs from storage. The identity service implements it
// over its database; NewMemoryStore is the in-process implementation.
type Store interface {
	// TOTPFactor returns the user's active factor, or an error with code
	// errs.NotFound if the user has none (a pending enrolment is not
	// active).
	TOTPFactor(ctx context.Context, tenant ids.TenantID, user ids.UserID) (Factor, error)

	// AdvanceTOTPStep records next as the user's last accepted step if,
	// and only if, the stored last step is still prev, and reports whether
	// it did. It must be atomic (UPDATE … SET last_step = next WHERE … AND
	// last_step = prev): this is what makes a code single-use when two
	// requests carry it at the same time.
	AdvanceTOTPStep(ctx context.Context, tenant ids.TenantID, user ids.UserID, prev, next uint64) (bool, error)
}

// Check verifies code for the user's active factor and records its step, so
// that the code is accepted at most once. It returns the errors of Verify,
// ErrCodeUsed if a concurrent request advanced the step first, and the
// store's errors (errs.NotFound when the user has no active factor).
func (v *Verifier) Check(ctx context.Context, st Store, tenant ids.TenantID, user ids.UserID, code string) error {
	f, err := st.TOTPFactor(ctx, tenant, user)
	if err != nil {
		return err
	}
	next, err := v.Verify(f.Secret, code, f.LastStep)
	if err != nil {
		return err
	}
	ok, err := st.AdvanceTOTPStep(ctx, tenant, user, f.LastStep, next)
	if err != nil {
		return err
	}
	if !ok {
		return ErrCodeUsed
	}
	return nil
}

// MemoryStore is a Store in memory, for tests and single-process use. It is
// safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	factors map[memoryKey]Factor
}

type memoryKey struct {
	tenant ids.TenantID
	user   ids.UserID
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{factors: make(map[memoryKey]Factor)}
}

// Activate stores f as the user's active factor, replacing any other.
func (m *MemoryStore) Activate(tenant ids.TenantID, user ids.UserID, f Factor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.factors[memoryKey{tenant, user}] = f
}

// TOTPFactor implements Store.
func (m *MemoryStore) TOTPFactor(_ context.Context, tenant ids.TenantID, user ids.UserID) (Factor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.factors[memoryKey{tenant, user}]
	if !ok {
		return Factor{}, errs.E(errs.NotFound, "No authenticator app is set up for this account.")
	}
	return f, nil
}

// AdvanceTOTPStep implements Store.
func (m *MemoryStore) AdvanceTOTPStep(_ context.Context, tenant ids.TenantID, user ids.UserID, prev, next uint64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memoryKey{tenant, user}
	f, ok := m.factors[k]
	if !ok {
		return false, errs.E(errs.NotFound, "No authenticator app is set up for this account.")
	}
	if f.LastStep != prev {
		return false, nil
	}
	f.LastStep = next
	m.factors[k] = f
	return true, nil
}
