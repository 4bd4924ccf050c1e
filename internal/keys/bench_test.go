package keys_test

import (
	"testing"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

func BenchmarkSeal(b *testing.B) {
	e := newEnv(b)
	s := e.service(b, keys.Options{})
	tenant := ids.NewTenant()
	msg := make([]byte, 1024)
	mustSeal(b, s, tenant, msgAAD, msg) // create the tenant's keys
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(b.Context(), tenant, msgAAD, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	e := newEnv(b)
	s := e.service(b, keys.Options{})
	tenant := ids.NewTenant()
	msg := make([]byte, 1024)
	ct := mustSeal(b, s, tenant, msgAAD, msg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(b.Context(), tenant, msgAAD, ct); err != nil {
			b.Fatal(err)
		}
	}
}
