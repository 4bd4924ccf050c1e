package keys_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

func TestConfidentiality(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant := ids.NewTenant()
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"short", []byte("canary-7f3a")},
		{"repeated blocks", bytes.Repeat([]byte("0123456789abcdef"), 64)},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c1 := mustSeal(t, s, tenant, msgAAD, tt.plaintext)
			c2 := mustSeal(t, s, tenant, msgAAD, tt.plaintext)
			if len(tt.plaintext) > 0 && bytes.Contains(c1, tt.plaintext[:min(len(tt.plaintext), 16)]) {
				t.Fatal("the ciphertext contains the plaintext")
			}
			if bytes.Equal(c1, c2) {
				t.Fatal("two seals of the same plaintext are identical")
			}
			if len(c1) != len(tt.plaintext)+keys.SealOverhead {
				t.Fatalf("len(ciphertext) = %d, want %d", len(c1), len(tt.plaintext)+keys.SealOverhead)
			}
			for _, c := range [][]byte{c1, c2} {
				if got := mustOpen(t, s, tenant, msgAAD, c); !bytes.Equal(got, tt.plaintext) {
					t.Fatalf("Open = %q, want %q", got, tt.plaintext)
				}
			}
		})
	}
}

func TestIntegrity_FlippedByteFails(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant := ids.NewTenant()
	ct := mustSeal(t, s, tenant, msgAAD, []byte("the board meets on Thursday"))
	for i := range ct {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(ct)
			bad[i] ^= mask
			pt, err := s.Open(t.Context(), tenant, msgAAD, bad)
			if !errors.Is(err, keys.ErrTampered) {
				t.Fatalf("byte %d ^ %#x: Open = %q, %v; want ErrTampered", i, mask, pt, err)
			}
		}
	}
}

func TestIntegrity_TruncatedOrExtendedFails(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant := ids.NewTenant()
	ct := mustSeal(t, s, tenant, msgAAD, []byte("the board meets on Thursday"))
	for n := range len(ct) {
		if _, err := s.Open(t.Context(), tenant, msgAAD, ct[:n]); !errors.Is(err, keys.ErrTampered) {
			t.Fatalf("first %d bytes: Open = %v, want ErrTampered", n, err)
		}
	}
	if _, err := s.Open(t.Context(), tenant, msgAAD, append(bytes.Clone(ct), 0)); !errors.Is(err, keys.ErrTampered) {
		t.Fatalf("a byte appended: Open = %v, want ErrTampered", err)
	}
}

func TestMoveIntegrity(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant, other, keyless := ids.NewTenant(), ids.NewTenant(), ids.NewTenant()
	mustSeal(t, s, other, msgAAD, []byte("the other tenant has keys too"))
	aad := keys.AAD{Kind: "ab", ID: "c"}
	ct := mustSeal(t, s, tenant, aad, []byte("secret"))
	if _, err := s.Rotate(t.Context(), tenant); err != nil {
		t.Fatal(err)
	}
	asV2 := bytes.Clone(ct)
	binary.BigEndian.PutUint32(asV2[1:], 2)

	tests := []struct {
		name   string
		tenant ids.TenantID
		aad    keys.AAD
		ct     []byte
	}{
		{"another tenant", other, aad, ct},
		{"a tenant without keys", keyless, aad, ct},
		{"another kind", tenant, keys.AAD{Kind: "ab2", ID: "c"}, ct},
		{"another id", tenant, keys.AAD{Kind: "ab", ID: "d"}, ct},
		{"kind and id boundary shifted", tenant, keys.AAD{Kind: "a", ID: "bc"}, ct},
		{"another key version", tenant, aad, asV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := s.Open(t.Context(), tt.tenant, tt.aad, tt.ct)
			if !errors.Is(err, keys.ErrTampered) {
				t.Fatalf("Open = %q, %v; want ErrTampered", pt, err)
			}
		})
	}
	if got := mustOpen(t, s, tenant, aad, ct); string(got) != "secret" {
		t.Fatalf("Open where it belongs = %q", got)
	}
}

func TestUniqueNonces(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant := ids.NewTenant()
	const n = 20000
	seen := make(map[[12]byte]bool, n)
	for i := range n {
		ct := mustSeal(t, s, tenant, msgAAD, []byte("same message every time"))
		nonce := [12]byte(ct[5:17])
		if seen[nonce] {
			t.Fatalf("nonce repeated after %d seals", i)
		}
		seen[nonce] = true
	}
}

func TestRotation(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant := ids.NewTenant()
	version := func(ct []byte) uint32 { return binary.BigEndian.Uint32(ct[1:5]) }

	var sealed [][]byte
	for want := uint32(1); want <= 3; want++ {
		ct := mustSeal(t, s, tenant, msgAAD, fmt.Appendf(nil, "sealed under version %d", want))
		if got := version(ct); got != want {
			t.Fatalf("Seal used version %d, want %d", got, want)
		}
		sealed = append(sealed, ct)
		v, err := s.Rotate(t.Context(), tenant)
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if v != want+1 {
			t.Fatalf("Rotate = %d, want %d", v, want+1)
		}
	}
	// Every version still opens, here and in a restarted process.
	e.keyring = e.openKeyring(t)
	fresh := e.service(t, keys.Options{})
	for _, svc := range []*keys.Service{s, fresh} {
		for i, ct := range sealed {
			if got := mustOpen(t, svc, tenant, msgAAD, ct); string(got) != fmt.Sprintf("sealed under version %d", i+1) {
				t.Fatalf("Open = %q", got)
			}
		}
		if got := version(mustSeal(t, svc, tenant, msgAAD, []byte("x"))); got != 4 {
			t.Fatalf("Seal after rotations used version %d, want 4", got)
		}
	}
	rows, err := e.store.DataKeys(t.Context(), tenant)
	if err != nil || len(rows) != 4 {
		t.Fatalf("store holds %d versions (%v), want 4", len(rows), err)
	}
	for _, r := range rows[1:] {
		if r.KEKID != rows[0].KEKID {
			t.Fatal("rotation changed the tenant's KEK; want one KEK per tenant")
		}
	}
}

func TestRotation_NewTenantStartsAtOne(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	v, err := s.Rotate(t.Context(), ids.NewTenant())
	if err != nil || v != 1 {
		t.Fatalf("Rotate of a new tenant = %d, %v; want 1", v, err)
	}
}

func TestShredding(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	ctx := t.Context()
	gone, kept := ids.NewTenant(), ids.NewTenant()
	old := mustSeal(t, s, gone, msgAAD, []byte("before rotation"))
	if _, err := s.Rotate(ctx, gone); err != nil {
		t.Fatal(err)
	}
	ct := mustSeal(t, s, gone, msgAAD, []byte("after rotation"))
	keptCT := mustSeal(t, s, kept, msgAAD, []byte("another tenant"))

	if err := s.Shred(ctx, gone); err != nil {
		t.Fatalf("Shred: %v", err)
	}
	if err := s.Shred(ctx, gone); err != nil {
		t.Fatalf("second Shred = %v, want nil", err)
	}

	e.keyring = e.openKeyring(t) // a restarted process reads the keyring file again
	fresh := e.service(t, keys.Options{})
	for name, svc := range map[string]*keys.Service{"same service": s, "fresh service": fresh} {
		t.Run(name, func(t *testing.T) {
			for _, c := range [][]byte{old, ct} {
				if pt, err := svc.Open(ctx, gone, msgAAD, c); !errors.Is(err, keys.ErrShredded) {
					t.Fatalf("Open after Shred = %q, %v; want ErrShredded", pt, err)
				}
			}
			if _, err := svc.Seal(ctx, gone, msgAAD, []byte("new")); !errors.Is(err, keys.ErrShredded) {
				t.Fatalf("Seal after Shred = %v, want ErrShredded", err)
			}
			if _, _, err := svc.CurrentKey(ctx, gone); !errors.Is(err, keys.ErrShredded) {
				t.Fatalf("CurrentKey after Shred = %v, want ErrShredded", err)
			}
			if _, err := svc.KeyVersion(ctx, gone, 1); !errors.Is(err, keys.ErrShredded) {
				t.Fatalf("KeyVersion after Shred = %v, want ErrShredded", err)
			}
			if _, err := svc.Rotate(ctx, gone); !errors.Is(err, keys.ErrShredded) {
				t.Fatalf("Rotate after Shred = %v, want ErrShredded", err)
			}
			if got := mustOpen(t, svc, kept, msgAAD, keptCT); string(got) != "another tenant" {
				t.Fatalf("another tenant's data: %q", got)
			}
		})
	}
	if errs.CodeOf(keys.ErrShredded) != errs.NotFound {
		t.Fatalf("ErrShredded has code %s, want not_found", errs.CodeOf(keys.ErrShredded))
	}
}

// A Shred that destroyed the KEK but did not get to delete the wrapped keys
// (or a database backup restored after a Shred) still opens nothing.
func TestShredding_RestoredWrappedKeysStayUseless(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tenant := ids.NewTenant()
	ct := mustSeal(t, e.service(t, keys.Options{}), tenant, msgAAD, []byte("backed up"))
	backup, err := e.store.DataKeys(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.service(t, keys.Options{}).Shred(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	restored := keys.NewMemoryStore()
	for _, r := range backup {
		if err := restored.AddDataKey(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	s := keys.New(e.openKeyring(t), restored, keys.Options{})
	_, err = s.Open(ctx, tenant, msgAAD, ct)
	if !errors.Is(err, keys.ErrShredded) || !errors.Is(err, keys.ErrKeyDestroyed) {
		t.Fatalf("Open with restored wrapped keys = %v, want ErrShredded and ErrKeyDestroyed", err)
	}
	if _, err := s.Rotate(ctx, tenant); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("Rotate with restored wrapped keys = %v, want ErrShredded", err)
	}
}

// Another node's Shred reaches this node's cache within CacheTTL.
func TestShredding_OtherNodeWithinCacheTTL(t *testing.T) {
	e := newEnv(t)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := keys.Options{Clock: clk, CacheTTL: time.Minute}
	nodeA, nodeB := e.service(t, opts), e.service(t, opts)
	tenant := ids.NewTenant()
	ct := mustSeal(t, nodeA, tenant, msgAAD, []byte("cached on A"))
	if err := nodeB.Shred(t.Context(), tenant); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, err := nodeA.Open(t.Context(), tenant, msgAAD, ct); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("Open on another node after CacheTTL = %v, want ErrShredded", err)
	}
}

func TestCache(t *testing.T) {
	e := newEnv(t)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := &countingProvider{KeyProvider: e.keyring}
	opts := keys.Options{Clock: clk, CacheTTL: time.Minute, CacheTenants: 2}
	s := keys.New(p, e.store, opts)
	a, b, c := ids.NewTenant(), ids.NewTenant(), ids.NewTenant()

	ct := mustSeal(t, s, a, msgAAD, []byte("hot path"))
	for range 100 {
		mustOpen(t, s, a, msgAAD, mustSeal(t, s, a, msgAAD, []byte("hot path")))
	}
	if n := p.unwraps.Load(); n != 0 {
		t.Fatalf("%d unwraps for a tenant whose key this service created, want 0", n)
	}

	fresh := keys.New(p, e.store, opts)
	for range 100 {
		mustOpen(t, fresh, a, msgAAD, ct)
	}
	if n := p.unwraps.Load(); n != 1 {
		t.Fatalf("%d unwraps for 100 opens, want 1", n)
	}

	clk.Advance(time.Minute)
	mustOpen(t, fresh, a, msgAAD, ct)
	if n := p.unwraps.Load(); n != 2 {
		t.Fatalf("%d unwraps after CacheTTL, want 2", n)
	}

	// Two other tenants push a out of a two-tenant cache.
	mustSeal(t, fresh, b, msgAAD, []byte("b"))
	mustSeal(t, fresh, c, msgAAD, []byte("c"))
	mustOpen(t, fresh, a, msgAAD, ct)
	if n := p.unwraps.Load(); n != 3 {
		t.Fatalf("%d unwraps after eviction, want 3", n)
	}

	// Rotate drops the cached keys: the next seal uses the new version at once.
	if _, err := fresh.Rotate(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint32(mustSeal(t, fresh, a, msgAAD, nil)[1:]); v != 2 {
		t.Fatalf("Seal after Rotate used version %d, want 2", v)
	}
}

func TestCache_Disabled(t *testing.T) {
	e := newEnv(t)
	p := &countingProvider{KeyProvider: e.keyring}
	s := keys.New(p, e.store, keys.Options{CacheTTL: -1})
	tenant := ids.NewTenant()
	ct := mustSeal(t, s, tenant, msgAAD, []byte("x"))
	for range 3 {
		mustOpen(t, s, tenant, msgAAD, ct)
	}
	if n := p.unwraps.Load(); n != 3 {
		t.Fatalf("%d unwraps with the cache disabled, want 3", n)
	}
}

// Two nodes meeting a new tenant at once agree on one version 1.
func TestFirstUseRace(t *testing.T) {
	e := newEnv(t)
	tenant := ids.NewTenant()
	const nodes = 4
	svcs := make([]*keys.Service, nodes)
	cts := make([][]byte, nodes)
	errc := make(chan error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		svcs[i] = e.service(t, keys.Options{})
		wg.Go(func() {
			var err error
			cts[i], err = svcs[i].Seal(t.Context(), tenant, msgAAD, []byte("first"))
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
	}
	for _, s := range svcs {
		for _, ct := range cts {
			mustOpen(t, s, tenant, msgAAD, ct)
		}
	}
	if rows, _ := e.store.DataKeys(t.Context(), tenant); len(rows) != 1 {
		t.Fatalf("store holds %d versions, want 1", len(rows))
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{CacheTenants: 3})
	tenants := []ids.TenantID{ids.NewTenant(), ids.NewTenant(), ids.NewTenant(), ids.NewTenant()}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tenant := tenants[(w+i)%len(tenants)]
				aad := keys.AAD{Kind: "k", ID: fmt.Sprint(w, "/", i)}
				pt := fmt.Appendf(nil, "%d/%d", w, i)
				ct, err := s.Seal(t.Context(), tenant, aad, pt)
				if err == nil {
					var got []byte
					got, err = s.Open(t.Context(), tenant, aad, ct)
					if err == nil && !bytes.Equal(got, pt) {
						err = errors.New("round trip changed the plaintext")
					}
				}
				if err == nil && i%10 == 0 {
					_, err = s.Rotate(t.Context(), tenant)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestInvalidInput(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	good := ids.NewTenant()
	tests := []struct {
		name   string
		tenant ids.TenantID
		aad    keys.AAD
	}{
		{"empty tenant", "", msgAAD},
		{"path in tenant", "../x", msgAAD},
		{"overlong tenant", ids.TenantID(strings.Repeat("a", 65)), msgAAD},
		{"empty kind", good, keys.AAD{ID: "x"}},
		{"empty id", good, keys.AAD{Kind: "x"}},
		{"overlong kind", good, keys.AAD{Kind: strings.Repeat("k", 129), ID: "x"}},
		{"overlong id", good, keys.AAD{Kind: "k", ID: strings.Repeat("i", 1025)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Seal(t.Context(), tt.tenant, tt.aad, []byte("x")); !errors.Is(err, keys.ErrInvalid) || errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("Seal = %v, want ErrInvalid", err)
			}
			if _, err := s.Open(t.Context(), tt.tenant, tt.aad, make([]byte, 64)); !errors.Is(err, keys.ErrInvalid) {
				t.Fatalf("Open = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestOpenMalformed(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant := ids.NewTenant()
	valid := mustSeal(t, s, tenant, msgAAD, []byte("x"))
	v0 := bytes.Clone(valid)
	binary.BigEndian.PutUint32(v0[1:], 0)
	vMax := bytes.Clone(valid)
	binary.BigEndian.PutUint32(vMax[1:], ^uint32(0))
	tests := []struct {
		name string
		ct   []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"header only", valid[:5]},
		{"one byte short of the minimum", valid[:keys.SealOverhead-1]},
		{"zeros", make([]byte, 100)},
		{"unknown format", append([]byte{0x02}, valid[1:]...)},
		{"version 0", v0},
		{"version not in the store", vMax},
		{"plaintext", []byte("not a ciphertext at all, just text")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pt, err := s.Open(t.Context(), tenant, msgAAD, tt.ct); !errors.Is(err, keys.ErrTampered) {
				t.Fatalf("Open = %q, %v; want ErrTampered", pt, err)
			}
		})
	}
}

// FuzzOpen: whatever the bytes, Open does not panic, and only the genuine
// ciphertext opens.
func FuzzOpen(f *testing.F) {
	e := newEnv(f)
	s := e.service(f, keys.Options{})
	tenant := ids.NewTenant()
	valid := mustSeal(f, s, tenant, msgAAD, []byte("fuzz"))
	f.Add(valid)
	f.Add([]byte{})
	f.Add(valid[:keys.SealOverhead])
	f.Add(append([]byte{0x01, 0, 0, 0, 1}, make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := s.Open(t.Context(), tenant, msgAAD, ct)
		switch {
		case bytes.Equal(ct, valid):
			if err != nil || string(pt) != "fuzz" {
				t.Fatalf("the genuine ciphertext: Open = %q, %v", pt, err)
			}
		case !errors.Is(err, keys.ErrTampered):
			t.Fatalf("Open = %q, %v; want ErrTampered", pt, err)
		}
	})
}

// Errors say what failed, never what was sealed.
func TestErrorsDoNotLeakPlaintext(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, keys.Options{})
	tenant := ids.NewTenant()
	const canary = "CANARY-plaintext-4b1d"
	ct := mustSeal(t, s, tenant, msgAAD, []byte(canary))
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 1
	var failures []error
	_, err := s.Open(t.Context(), tenant, msgAAD, bad)
	failures = append(failures, err)
	_, err = s.Open(t.Context(), ids.NewTenant(), msgAAD, ct)
	failures = append(failures, err)
	if err := s.Shred(t.Context(), tenant); err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(t.Context(), tenant, msgAAD, ct)
	failures = append(failures, err)
	_, err = s.Seal(t.Context(), tenant, msgAAD, []byte(canary))
	failures = append(failures, err)
	for _, err := range failures {
		if err == nil {
			t.Fatal("expected an error")
		}
		if strings.Contains(err.Error(), canary) || strings.Contains(fmt.Sprintf("%+v", err), canary) {
			t.Fatalf("error %q contains the plaintext", err)
		}
		if strings.Contains(errs.MessageOf(err), "keys:") {
			t.Fatalf("safe message %q carries internals", errs.MessageOf(err))
		}
	}
}
