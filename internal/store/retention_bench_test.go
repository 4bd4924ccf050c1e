package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/compliance/retention"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// fileBlobs deletes blobs as the directory store does: one file each.
type fileBlobs struct{ dir string }

func (f fileBlobs) path(key string) string {
	return filepath.Join(f.dir, strings.ReplaceAll(key, "/", "_"))
}

func (f fileBlobs) Delete(_ context.Context, _ ids.TenantID, key string) error {
	if err := os.Remove(f.path(key)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// benchFill stores n messages deleted by their author, each with an
// earlier version, a reaction, two events and an attachment whose blob is
// a 4 KiB file.
func benchFill(b *testing.B, db *store.DB, blobs fileBlobs, tenant ids.TenantID, channel string, author ids.UserID, n int, at time.Time) {
	b.Helper()
	ctx := b.Context()
	body := make([]byte, 200)
	content := make([]byte, 4096)
	for start := 0; start < n; start += 500 {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				m := chat.Message{ID: ids.New(), Tenant: tenant, Channel: channel, Author: author, Created: at, Deleted: at, Version: 2, Body: body}
				for _, kind := range []string{chat.EventMessage, chat.EventDelete} {
					seq, err := tx.NextSeq(ctx, channel)
					if err != nil {
						return err
					}
					if m.Seq == 0 {
						m.Seq = seq
					}
					if err := tx.InsertEvent(ctx, chat.Event{Channel: channel, Seq: seq, Tenant: tenant, Kind: kind, At: at, Payload: body, Message: m.ID}); err != nil {
						return err
					}
				}
				if err := tx.InsertMessage(ctx, m); err != nil {
					return err
				}
				if err := tx.UpdateMessage(ctx, m, body, at); err != nil {
					return err
				}
				if err := tx.SetReaction(ctx, m.ID, author, "👍", true, at); err != nil {
					return err
				}
				f := chat.File{ID: ids.New(), Tenant: tenant, Channel: channel, Message: m.ID, Uploader: author, SealedName: body[:40], Size: 4096, ContentType: "text/plain", SHA256: "00"}
				if err := tx.InsertFile(ctx, f); err != nil {
					return err
				}
				if err := os.WriteFile(blobs.path("files/"+f.ID), content, 0o600); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRetentionDelete measures the deletion job end to end: messages
// deleted per second, each with its version, reaction, events and an
// attachment with its blob file, in batches of 200, one transaction and
// audit record each, WAL checkpoint included.
func BenchmarkRetentionDelete(b *testing.B) {
	const perRun = 2000
	for _, e := range []storetest.Engine{{Name: "sqlite", Open: storetest.OpenSQLite}, {Name: "postgres", Open: storetest.OpenPostgres}} {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clk := clock.NewFake(t0.Add(time.Hour))
			runner := jobs.NewRunner(store.Jobs(db), jobs.Options{Clock: clk, Poll: 5 * time.Millisecond})
			blobs := fileBlobs{dir: b.TempDir()}
			svc := retention.New(retention.Options{Store: store.Retention(db), Accounts: store.Retention(db), Blobs: blobs, Audit: audit.New(clk), Clock: clk,
				Jobs: runner, JobStore: store.Jobs(db)})
			go runner.Run(ctx)
			tenant := ids.NewTenant()
			admin := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "admin", Roles: []principal.Role{principal.TenantAdmin}}
			channel := ids.New()
			if err := db.InTx(ctx, func(tx *store.Tx) error {
				return tx.InsertChannel(ctx, chat.Channel{ID: channel, Tenant: tenant, Kind: chat.Chat, Created: t0})
			}); err != nil {
				b.Fatal(err)
			}
			deleted := 0
			for b.Loop() {
				b.StopTimer()
				benchFill(b, db, blobs, tenant, channel, "author", perRun, t0)
				b.StartTimer()
				j, err := svc.RunNow(ctx, admin)
				if err != nil {
					b.Fatal(err)
				}
				for !jobs.Finished(j.State) {
					time.Sleep(time.Millisecond)
					if j, err = store.Jobs(db).Job(ctx, j.ID); err != nil {
						b.Fatal(err)
					}
				}
				if j.State != jobs.Done || j.Done < perRun {
					b.Fatalf("job %s: %d done: %s", j.State, j.Done, j.Error)
				}
				deleted += perRun
			}
			b.ReportMetric(float64(deleted)/b.Elapsed().Seconds(), "msgs/s")
			var left int
			db.QueryRow(ctx, `SELECT COUNT(*) FROM messages`).Scan(&left)
			if left != 0 {
				b.Fatalf("%d messages left", left)
			}
		})
	}
}
