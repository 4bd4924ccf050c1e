package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// BenchmarkAuditAppend measures one transaction that appends one audit
// record, the cost every audited state change pays.
func BenchmarkAuditAppend(b *testing.B) {
	for _, e := range []storetest.Engine{{Name: "sqlite", Open: storetest.OpenSQLite}, {Name: "postgres", Open: storetest.OpenPostgres}} {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			log, _ := newAudit(b)
			tenant := ids.NewTenant()
			actor := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "u1", Source: "192.0.2.1"}
			b.ReportAllocs()
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				i++
				err := db.InTx(b.Context(), func(tx *store.Tx) error {
					_, err := log.Append(b.Context(), tx, audit.Entry{Actor: actor, Action: "bench.act", Target: fmt.Sprint("thing:", i)})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkAuditAppendParallel is BenchmarkAuditAppend from several
// goroutines at once: concurrent writers, as concurrent sends are.
func BenchmarkAuditAppendParallel(b *testing.B) {
	for _, e := range []storetest.Engine{{Name: "sqlite", Open: storetest.OpenSQLite}, {Name: "postgres", Open: storetest.OpenPostgres}} {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			log, _ := newAudit(b)
			tenant := ids.NewTenant()
			actor := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "u1", Source: "192.0.2.1"}
			b.SetParallelism(4)
			b.ReportAllocs()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := db.InTx(b.Context(), func(tx *store.Tx) error {
						_, err := log.Append(b.Context(), tx, audit.Entry{Actor: actor, Action: "bench.act", Target: "thing"})
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports this process's CPU time per operation since start: on a
// shared machine a steadier measure of work than elapsed time. PostgreSQL's
// own CPU is not in it.
func reportCPU(b *testing.B, start time.Duration) {
	b.Helper()
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
