package store_test

import (
	"fmt"
	"testing"

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
		})
	}
}
