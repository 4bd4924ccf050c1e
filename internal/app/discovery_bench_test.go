package app_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
)

// benchMessages is how many messages the export benchmark's person wrote.
const benchMessages = 2000

// BenchmarkExport measures export throughput: one export job of a person's
// data (2000 messages, one in ten edited once, one in forty with an 8 KiB
// attachment) per iteration, through the real job: every body and earlier
// version opened from sealed storage, every attachment read from the sealed
// blob store, the package written as sealed part blobs with its manifest
// and signature. It reports messages per second.
//
//	go test ./internal/app -run '^$' -bench BenchmarkExport -benchtime 5x
func BenchmarkExport(b *testing.B) {
	for _, e := range []struct {
		name string
		opts apptest.Options
	}{{"sqlite", apptest.Options{}}, {"postgres", apptest.Options{Postgres: true}}} {
		b.Run(e.name, func(b *testing.B) {
			s, p, ch := chatBench(b, e.opts)
			ctx := b.Context()
			attachment := bytes.Repeat([]byte("eight kibibytes of attachment text\n"), 8192/35)
			for i := range benchMessages {
				if i%40 == 0 {
					if _, err := s.Chat.SendFile(ctx, p, ch, fmt.Sprintf("report-%d.txt", i), bytes.NewReader(attachment), "the report"); err != nil {
						b.Fatal(err)
					}
					continue
				}
				v, err := s.Chat.Send(ctx, p, ch, fmt.Sprintf("Message %d: a typical message of about a hundred bytes, with a **bit** of Markdown.", i), "")
				if err != nil {
					b.Fatal(err)
				}
				if i%10 == 1 {
					if _, err := s.Chat.Edit(ctx, p, v.ID, v.Body+" (edited)"); err != nil {
						b.Fatal(err)
					}
				}
			}
			var bytesOut int64
			b.ResetTimer()
			for b.Loop() {
				ex, err := s.Discovery.ExportUser(ctx, p, p.User)
				if err != nil {
					b.Fatal(err)
				}
				for {
					got, err := s.Discovery.GetExport(ctx, p, ex.ID)
					if err != nil {
						b.Fatal(err)
					}
					if got.State == discovery.Done {
						if got.Messages != benchMessages {
							b.Fatalf("exported %d messages", got.Messages)
						}
						bytesOut += got.Bytes
						break
					}
					if got.State == discovery.Failed {
						b.Fatalf("export failed: %+v", got.Progress)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
			b.ReportMetric(float64(b.N*benchMessages)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(bytesOut)/float64(b.N)/(1<<20), "MiB/export")
		})
	}
}
