package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestChannelSequenceIsGaplessUnderConcurrentWriters has four writers add
// events to one channel at once: every number from 1 to 100 is used exactly
// once, and the log reads back in order.
func TestChannelSequenceIsGaplessUnderConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		cs := store.Chat(db)
		c := newChannel(t, db)
		var wg sync.WaitGroup
		errc := make(chan error, 100)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					errc <- appendEvent(t, db, c, fmt.Sprint(w, i))
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		evs, err := cs.Events(ctx, c.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 100 {
			t.Fatalf("%d events", len(evs))
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
		}
		got, err := cs.Channel(ctx, c.ID)
		if err != nil || got.LastSeq != 100 {
			t.Fatalf("last seq %d %v", got.LastSeq, err)
		}
	})
}

// newChannel stores a standard channel of a new tenant.
func newChannel(t *testing.T, db *store.DB) chat.Channel {
	t.Helper()
	ctx := t.Context()
	c := chat.Channel{ID: ids.New(), Tenant: ids.NewTenant(), Team: "t", Kind: chat.Standard, Name: "General", CreatedBy: "u", Created: time.Now()}
	if err := store.Chat(db).UpdateChat(ctx, func(tx chat.Tx) error { return tx.InsertChannel(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	return c
}

// appendEvent adds a message event with payload to c's log, in a
// transaction of its own.
func appendEvent(t *testing.T, db *store.DB, c chat.Channel, payload string) error {
	ctx := t.Context()
	return store.Chat(db).UpdateChat(ctx, func(tx chat.Tx) error {
		seq, err := tx.NextSeq(ctx, c.ID)
		if err != nil {
			return err
		}
		return tx.InsertEvent(ctx, chat.Event{Channel: c.ID, Seq: seq, Tenant: c.Tenant, Kind: chat.EventMessage, At: time.Now(), Payload: []byte(payload)})
	})
}
