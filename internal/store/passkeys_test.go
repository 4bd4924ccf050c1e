package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestPasskeyCeremoniesAreSingleUse runs the SQL ceremony store through
// what passkey.SessionStore promises, on every engine: of concurrent takes
// of one ceremony exactly one gets it, expired state is never handed out,
// a put replaces, and puts sweep expired rows.
func TestPasskeyCeremoniesAreSingleUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		c := clock.NewFake(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
		cs := db.PasskeyCeremonies(c)

		if err := cs.PutPasskeySession(ctx, "k1", []byte("state-1"), c.Now().Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		got := make(chan []byte, n)
		fails := make(chan error, n)
		for range n {
			wg.Go(func() {
				st, err := cs.TakePasskeySession(ctx, "k1")
				if err != nil {
					fails <- err
					return
				}
				got <- st
			})
		}
		wg.Wait()
		close(got)
		close(fails)
		if len(got) != 1 {
			t.Fatalf("%d of %d concurrent takes got the state, want exactly 1", len(got), n)
		}
		if st := <-got; string(st) != "state-1" {
			t.Fatalf("state %q", st)
		}
		for err := range fails {
			if !errors.Is(err, passkey.ErrSessionNotFound) {
				t.Fatalf("losing take: %v, want ErrSessionNotFound", err)
			}
		}

		// A put under the same key replaces.
		cs.PutPasskeySession(ctx, "k2", []byte("old"), c.Now().Add(time.Minute))
		if err := cs.PutPasskeySession(ctx, "k2", []byte("new"), c.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if st, err := cs.TakePasskeySession(ctx, "k2"); err != nil || string(st) != "new" {
			t.Fatalf("replaced state: %q, %v", st, err)
		}

		// Expired state is not handed out, and a later put sweeps it.
		cs.PutPasskeySession(ctx, "k3", []byte("x"), c.Now().Add(time.Minute))
		cs.PutPasskeySession(ctx, "k4", []byte("y"), c.Now().Add(time.Minute))
		c.Advance(time.Minute)
		if _, err := cs.TakePasskeySession(ctx, "k3"); !errors.Is(err, passkey.ErrSessionNotFound) {
			t.Fatalf("expired state: %v, want ErrSessionNotFound", err)
		}
		cs.PutPasskeySession(ctx, "k5", []byte("z"), c.Now().Add(time.Minute))
		var left int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM passkey_ceremonies WHERE id = 'k4'`).Scan(&left); err != nil || left != 0 {
			t.Fatalf("expired row not swept: %d, %v", left, err)
		}
		if _, err := cs.TakePasskeySession(ctx, "never-stored"); !errors.Is(err, passkey.ErrSessionNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
	})
}

func TestPasskeyHandles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		st := store.Identity(db)
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		acct := identity.Account{ID: ids.NewUser(), Realm: identity.OperatorRealm, Tenant: ids.ServiceTenant, Email: "op@example.com",
			DisplayName: "Op", Kind: principal.Operator, Roles: []principal.Role{}, State: identity.AccountActive, Created: now, Updated: now}
		handle := passkey.NewUserHandle()
		err := st.Update(ctx, func(tx identity.Tx) error {
			if err := tx.InsertAccount(ctx, acct); err != nil {
				return err
			}
			return tx.InsertPasskeyHandle(ctx, acct.ID, handle, now)
		})
		if err != nil {
			t.Fatal(err)
		}
		if h, err := st.PasskeyHandle(ctx, acct.ID); err != nil || !bytes.Equal(h, handle) {
			t.Fatalf("handle %x, %v", h, err)
		}
		if a, err := st.AccountByPasskeyHandle(ctx, handle); err != nil || a.ID != acct.ID {
			t.Fatalf("account by handle: %v, %v", a.ID, err)
		}
		if _, err := st.AccountByPasskeyHandle(ctx, passkey.NewUserHandle()); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown handle: %v", err)
		}
		if _, err := st.PasskeyHandle(ctx, ids.NewUser()); !errs.Is(err, errs.NotFound) {
			t.Fatalf("account without handle: %v", err)
		}
		err = st.Update(ctx, func(tx identity.Tx) error { return tx.InsertPasskeyHandle(ctx, acct.ID, passkey.NewUserHandle(), now) })
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("second handle for one account: %v, want Conflict", err)
		}
	})
}

// TestCompleteSetupUsesTheTokenOnceAndRetiresTheOthers: a setup token works
// once, and completing set-up with one retires every other.
func TestCompleteSetupUsesTheTokenOnceAndRetiresTheOthers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		for _, tok := range []string{"token-a", "token-b"} {
			if err := db.AddSetupToken(ctx, tok, now, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
		complete := func(tok string) error {
			return db.InTx(ctx, func(tx *store.Tx) error { return tx.CompleteSetup(ctx, hash(tok), now) })
		}
		if err := complete("token-a"); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{"token-a", "token-b", "unknown"} {
			if err := complete(tok); !errors.Is(err, store.ErrSetupToken) {
				t.Errorf("%s after set-up: %v, want ErrSetupToken", tok, err)
			}
			if _, err := db.CheckSetupToken(ctx, tok, now); !errors.Is(err, store.ErrSetupToken) {
				t.Errorf("check %s after set-up: %v, want ErrSetupToken", tok, err)
			}
		}
	})
}
