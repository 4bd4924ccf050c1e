package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestFactorCounterAcceptsACodeOnce has eight requests race to move a TOTP
// factor's last step from 5 to 6 — the same code presented eight times:
// exactly one wins.
func TestFactorCounterAcceptsACodeOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		is := store.Identity(db)
		now := time.Now()
		acct := identity.Account{ID: ids.NewUser(), Realm: identity.TenantRealm, Tenant: ids.NewTenant(), Email: "a@x.example",
			DisplayName: "A", Kind: principal.Member, Roles: []principal.Role{}, State: identity.AccountActive, Created: now, Updated: now}
		f := identity.Factor{ID: ids.New(), Account: acct.ID, Kind: identity.FactorTOTP, Name: "app", Secret: []byte("sealed"), Counter: 5, Created: now}
		err := is.Update(ctx, func(tx identity.Tx) error {
			if err := tx.InsertAccount(ctx, acct); err != nil {
				return err
			}
			return tx.InsertFactor(ctx, f)
		})
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := is.Update(ctx, func(tx identity.Tx) error {
					ok, err := tx.UpdateFactorCounter(ctx, f.ID, 5, 6, now)
					if ok {
						wins.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d requests accepted the same code, want exactly 1", wins.Load())
		}
	})
}
