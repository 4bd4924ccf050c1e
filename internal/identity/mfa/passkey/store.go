package passkey

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
)

// Users finds users for FinishLogin. The identity service implements it over
// its database (UsersFunc adapts a function).
type Users interface {
	// PasskeyUser returns the user whose user handle is handle, with all
	// their credentials, or an error with code errs.NotFound if there is
	// none. Look the handle up under the relying party's RP ID only.
	PasskeyUser(ctx context.Context, handle []byte) (*User, error)
}

// UsersFunc adapts a function to Users.
type UsersFunc func(ctx context.Context, handle []byte) (*User, error)

// PasskeyUser calls f.
func (f UsersFunc) PasskeyUser(ctx context.Context, handle []byte) (*User, error) {
	return f(ctx, handle)
}

// SessionStore keeps ceremony session state between Begin and Finish. The
// state must stay on the server (never in a cookie the client can change or
// replay), tied to the browser session that began the ceremony.
//
// Take is what makes a ceremony single use: it must return the state and
// delete it atomically, so that of two requests finishing one ceremony at
// most one gets the state. Finish itself cannot tell a state it has seen
// before from a new one. MemorySessionStore is the in-process
// implementation; the identity service provides one over its database.
type SessionStore interface {
	// PutPasskeySession stores state under key until expires (Begin's
	// time plus RelyingParty.SessionTTL), replacing any state under key.
	PutPasskeySession(ctx context.Context, key string, state []byte, expires time.Time) error

	// TakePasskeySession returns the state stored under key and deletes
	// it, atomically; ErrSessionNotFound if there is none or it expired.
	TakePasskeySession(ctx context.Context, key string) ([]byte, error)
}

// MemorySessionStore is a SessionStore in memory, for tests and
// single-process use. Expired state is dropped as new state is put. It is
// safe for concurrent use.
type MemorySessionStore struct {
	clock clock.Clock

	mu       sync.Mutex
	sessions map[string]memorySession
}

type memorySession struct {
	state   []byte
	expires time.Time
}

var _ SessionStore = (*MemorySessionStore)(nil)

// NewMemorySessionStore returns an empty MemorySessionStore reading the time
// from c (clock.Real if nil).
func NewMemorySessionStore(c clock.Clock) *MemorySessionStore {
	if c == nil {
		c = clock.Real{}
	}
	return &MemorySessionStore{clock: c, sessions: make(map[string]memorySession)}
}

// PutPasskeySession implements SessionStore.
func (m *MemorySessionStore) PutPasskeySession(_ context.Context, key string, state []byte, expires time.Time) error {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.sessions {
		if !now.Before(s.expires) {
			delete(m.sessions, k)
		}
	}
	m.sessions[key] = memorySession{state: slices.Clone(state), expires: expires}
	return nil
}

// TakePasskeySession implements SessionStore.
func (m *MemorySessionStore) TakePasskeySession(_ context.Context, key string) ([]byte, error) {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	delete(m.sessions, key)
	if !ok || !now.Before(s.expires) {
		return nil, ErrSessionNotFound
	}
	return s.state, nil
}
