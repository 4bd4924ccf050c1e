package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestGroupCommitCommitsWaitingTransactionsTogether holds SQLite's writer
// while 40 transactions queue, then checks that they commit in a few
// batches, that every successful one is stored, that failing and panicking
// ones are rolled back alone, and that each caller hears its own result.
func TestGroupCommitCommitsWaitingTransactionsTogether(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := t.Context()
	release := make(chan struct{})
	held := make(chan struct{})
	var hold sync.WaitGroup
	hold.Add(1)
	go func() {
		defer hold.Done()
		_ = db.InTx(ctx, func(tx *store.Tx) error {
			close(held)
			<-release
			_, err := tx.Exec(ctx, `INSERT INTO sealed_records (tenant_id, kind, id, body, updated_at) VALUES ('t', 'k', 'first', x'00', 0)`)
			return err
		})
	}()
	<-held
	commits0, txs0 := db.BatchStats()
	errc := make([]error, 40)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			errc[i] = db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO sealed_records (tenant_id, kind, id, body, updated_at) VALUES ('t', 'k', ?, x'00', 0)`, fmt.Sprint(i)); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errors.New("no, thanks")
				case 7:
					panic("boom")
				}
				return nil
			})
		})
	}
	time.Sleep(100 * time.Millisecond) // let them queue behind the held writer
	close(release)
	wg.Wait()
	hold.Wait()
	for i, err := range errc {
		switch i % 10 {
		case 3:
			if err == nil || err.Error() != "no, thanks" {
				t.Errorf("transaction %d: %v, want its own error", i, err)
			}
		case 7:
			if err == nil {
				t.Errorf("transaction %d panicked but reported success", i)
			}
		default:
			if err != nil {
				t.Errorf("transaction %d: %v", i, err)
			}
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM sealed_records WHERE tenant_id = 't'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1+32 {
		t.Errorf("%d rows stored, want 33 (the holder and the 32 that succeeded)", n)
	}
	commits, txs := db.BatchStats()
	if txs-txs0 != 33 || commits-commits0 > 3 {
		t.Errorf("%d successful transactions in %d commits; want the holder and 32 in at most 3 (they waited together)", txs-txs0, commits-commits0)
	}
}
