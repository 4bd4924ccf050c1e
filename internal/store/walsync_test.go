package store_test

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// heldSync replaces db's WAL fsync with one whose first call waits for
// release; every call still syncs the real file.
func heldSync(t *testing.T, db *store.DB) (entered <-chan struct{}, release func()) {
	t.Helper()
	in, out := make(chan struct{}), make(chan struct{})
	var once sync.Once
	if !store.SetWALSync(db, func(path string) error {
		first := false
		once.Do(func() { first = true })
		if first {
			close(in)
			<-out
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	}) {
		t.Fatal("SQLite with synchronous=full does not sync its write-ahead log itself")
	}
	var rel sync.Once
	release = func() { rel.Do(func() { close(out) }) }
	t.Cleanup(release)
	return in, release
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// notYet fails when done has been closed: whatever it stands for should
// still be waiting (it gets 50 ms to show it is not).
func notYet(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
		t.Fatal(what)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestAGroupCommitIsOnDiskBeforeItsCallerHearsOfIt holds the fsync of one
// commit's write-ahead log: its caller is not answered, the writer is free
// meanwhile (the next transaction commits), and a reader of channel events,
// which clients resume from, waits too. Released, one more fsync answers
// all of them, and the connection that committed is back to
// synchronous=FULL for other writers.
func TestAGroupCommitIsOnDiskBeforeItsCallerHearsOfIt(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := t.Context()
	cs := store.Chat(db)
	c := newChannel(t, db)
	commits0, syncs0 := store.WALCounts(db)
	entered, release := heldSync(t, db)

	send := func(payload string) (<-chan struct{}, *error) {
		done, errp := make(chan struct{}), new(error)
		go func() {
			defer close(done)
			*errp = appendEvent(t, db, c, payload)
		}()
		return done, errp
	}
	doneA, errA := send("a")
	<-entered
	notYet(t, doneA, "the first send was answered before its commit was synced")

	doneB, errB := send("b")
	waitFor(t, "the second send to commit while the first one's sync runs", func() bool {
		n, _ := store.WALCounts(db)
		return n == commits0+2
	})
	var events []chat.Event
	var readErr error
	doneRead := make(chan struct{})
	go func() {
		defer close(doneRead)
		events, readErr = cs.Events(ctx, c.ID, 0, 10)
	}()
	notYet(t, doneB, "the second send was answered before its commit was synced")
	notYet(t, doneRead, "channel events were read back before they were on disk")

	release()
	<-doneA
	<-doneB
	<-doneRead
	if *errA != nil || *errB != nil || readErr != nil {
		t.Fatalf("send a: %v, send b: %v, read: %v", *errA, *errB, readErr)
	}
	if len(events) != 2 || string(events[0].Payload) != "a" || string(events[1].Payload) != "b" {
		t.Fatalf("read back %d events, want a and b", len(events))
	}
	if _, syncs := store.WALCounts(db); syncs-syncs0 != 2 {
		t.Errorf("%d fsyncs of the log, want 2: the held one, then one for the second send and the reader", syncs-syncs0)
	}
	levels, err := store.SynchronousLevels(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range levels {
		if level != 2 {
			t.Errorf("a connection in the pool has synchronous=%d after group commits, want 2 (FULL): %v", level, levels)
		}
	}
}

// TestAFailedSyncOfTheLogIsTheCallersError: when the write-ahead log cannot
// be synced, the transaction's caller is told, not answered as if durable.
func TestAFailedSyncOfTheLogIsTheCallersError(t *testing.T) {
	db := storetest.OpenSQLite(t)
	store.SetWALSync(db, func(string) error { return errors.New("EIO") })
	err := db.InTx(t.Context(), func(tx *store.Tx) error {
		_, err := tx.Exec(t.Context(), `INSERT INTO sealed_records (tenant_id, kind, id, body, updated_at) VALUES ('t', 'k', 'x', x'00', 0)`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "write-ahead log") {
		t.Fatalf("InTx: %v, want the log's sync failure", err)
	}
}

// TestWithSynchronousNormalNothingWaitsForTheDisk: the operator's choice of
// normal leaves commits unsynced, as documented.
func TestWithSynchronousNormalNothingWaitsForTheDisk(t *testing.T) {
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), SQLiteSynchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if store.SetWALSync(db, func(string) error { return nil }) {
		t.Fatal("synchronous=normal syncs the write-ahead log after commits")
	}
}

// TestTheCheckpointerCopiesTheLogAwayFromCommits: while transactions
// commit one after another, the checkpointer copies the log into the
// database every few commits, without failing.
func TestTheCheckpointerCopiesTheLogAwayFromCommits(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := t.Context()
	body := []byte(strings.Repeat("x", 2000))
	for range 200 {
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO sealed_records (tenant_id, kind, id, body, updated_at) VALUES ('t', 'k', ?, ?, 0)`, ids.New(), body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// 200 commits wake it 10 times; wake-ups while it runs fold into one.
	waitFor(t, "three checkpoints", func() bool { runs, _ := store.Checkpoints(db); return runs >= 3 })
	if _, fails := store.Checkpoints(db); fails != 0 {
		t.Errorf("%d checkpoints failed", fails)
	}
}
