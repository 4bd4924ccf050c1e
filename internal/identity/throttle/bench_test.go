package throttle_test

import (
	"fmt"
	"testing"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/identity/throttle"
)

// BenchmarkCheckFail is the throttle's cost for one failed sign-in: Check
// and Fail on an account and a source key.
func BenchmarkCheckFail(b *testing.B) {
	l := throttle.New(clock.Real{}, throttle.Options{})
	keys := benchKeys()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		d, _ := l.Check(b.Context(), k...)
		if d.Allowed {
			_, _ = l.Fail(b.Context(), k...)
		}
	}
}

// BenchmarkCheckFailParallel is BenchmarkCheckFail from all cores at once.
func BenchmarkCheckFailParallel(b *testing.B) {
	l := throttle.New(clock.Real{}, throttle.Options{})
	keys := benchKeys()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := keys[i%len(keys)]
			i++
			d, _ := l.Check(b.Context(), k...)
			if d.Allowed {
				_, _ = l.Fail(b.Context(), k...)
			}
		}
	})
}

// BenchmarkAccountKey is the cost of making an account key (NFKC and SHA-256).
func BenchmarkAccountKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = throttle.Account(tenant, "Jane.Doe@Example.com")
	}
}

// benchKeys returns 4096 pairs of an account and a source key. Most get
// delayed or locked during a benchmark, so both allowed and denied paths
// are measured.
func benchKeys() [][]throttle.Key {
	keys := make([][]throttle.Key, 4096)
	for i := range keys {
		keys[i] = []throttle.Key{
			throttle.Account(tenant, fmt.Sprint("user", i)),
			src(fmt.Sprintf("10.0.%d.%d", i>>8, i&255)),
		}
	}
	return keys
}
