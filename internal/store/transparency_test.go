package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/signing"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
	"github.com/kaigi/kaigi/internal/transparency"
)

func tlogSigner(t *testing.T) *signing.Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signing.New("kaigi", priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type accessBody struct {
	Operator string `json:"operator"`
	Resource string `json:"resource"`
	Request  string `json:"request"`
	N        int    `json:"n"`
}

func tlogAppend(t *testing.T, db *store.DB, tl *transparency.Log, tenant ids.TenantID, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			_, err := tl.Append(t.Context(), tx, tenant, "access", accessBody{Operator: "op-1", Resource: "channel:c1", Request: "req-1", N: i})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestTransparencyLogProofs appends entries, checks every inclusion proof
// and every consistency proof between checkpoints against the signed heads,
// and verifies bundles the way a tenant does: first in full, then
// incrementally from the state kept.
func TestTransparencyLogProofs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		key := tlogSigner(t)
		tl := transparency.New(store.Transparency(db), key, clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)), "kaigi.test")
		tenant := ids.NewTenant()

		empty, err := tl.Bundle(ctx, tenant, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		state, _, err := transparency.VerifyBundle(nil, empty, key.VerifierKey())
		if err != nil || state.Size != 0 {
			t.Fatalf("empty log: %+v %v", state, err)
		}

		tlogAppend(t, db, tl, tenant, 0, 13)
		checkpoints := map[uint64]string{}
		for size := uint64(1); size <= 13; size++ {
			cp, err := tl.Checkpoint(ctx, tenant, size)
			if err != nil {
				t.Fatal(err)
			}
			checkpoints[size] = cp
		}
		leaves, err := tl.Leaves(ctx, tenant, 0, 100)
		if err != nil || len(leaves) != 13 {
			t.Fatalf("leaves: %d %v", len(leaves), err)
		}
		for size := uint64(1); size <= 13; size++ {
			cp, err := transparency.OpenCheckpoint(checkpoints[size], key.VerifierKey(), tl.Origin(tenant))
			if err != nil || cp.Size != size {
				t.Fatalf("checkpoint %d: %+v %v", size, cp, err)
			}
			for i := uint64(0); i < size; i++ {
				p, err := tl.InclusionProof(ctx, tenant, i, size)
				if err != nil {
					t.Fatal(err)
				}
				if err := transparency.VerifyInclusion(cp, leaves[i], p); err != nil {
					t.Fatalf("inclusion of %d in %d: %v", i, size, err)
				}
			}
		}
		// A checkpoint signed by another key, or of another tenant's log, is refused.
		if _, err := transparency.OpenCheckpoint(checkpoints[3], tlogSigner(t).VerifierKey(), tl.Origin(tenant)); err == nil {
			t.Fatal("a checkpoint verified with a stranger's key")
		}
		if _, err := transparency.OpenCheckpoint(checkpoints[3], key.VerifierKey(), tl.Origin(ids.NewTenant())); err == nil {
			t.Fatal("a checkpoint of one tenant's log passed as another's")
		}

		// Full check, then incremental checks from the kept state.
		b, err := tl.Bundle(ctx, tenant, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		state, rep, err := transparency.VerifyBundle(&state, b, key.VerifierKey())
		if err != nil || state.Size != 13 || len(rep.New) != 13 {
			t.Fatalf("full check: %+v %v", rep, err)
		}
		tlogAppend(t, db, tl, tenant, 13, 6)
		b, err = tl.Bundle(ctx, tenant, state.Size, state.Size)
		if err != nil {
			t.Fatal(err)
		}
		next, rep, err := transparency.VerifyBundle(&state, b, key.VerifierKey())
		if err != nil || next.Size != 19 || len(rep.New) != 6 || rep.Checked != 6 {
			t.Fatalf("incremental check: %+v %v", rep, err)
		}
		if rep.New[0].Index != 13 || rep.New[0].Kind != "access" {
			t.Fatalf("first new entry: %+v", rep.New[0])
		}

		// Bad requests are refused with a message, not a crash.
		for _, bad := range []func() error{
			func() error { _, err := tl.InclusionProof(ctx, tenant, 19, 19); return err },
			func() error { _, err := tl.InclusionProof(ctx, tenant, 0, 20); return err },
			func() error { _, err := tl.ConsistencyProof(ctx, tenant, 0, 5); return err },
			func() error { _, err := tl.ConsistencyProof(ctx, tenant, 6, 5); return err },
			func() error { _, err := tl.Checkpoint(ctx, tenant, 99); return err },
			func() error { _, err := tl.Bundle(ctx, tenant, 20, 0); return err },
		} {
			if err := bad(); !errs.Is(err, errs.Invalid) {
				t.Fatalf("an impossible proof: %v, want a refusal", err)
			}
		}
	})
}

// TestTransparencyLogTamperingIsDetected: someone with the database rewrites
// an entry, drops one, or serves a forked log signed with the service's own
// key; the tenant's verifier, holding an earlier signed tree head, reports
// each.
func TestTransparencyLogTamperingIsDetected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		key := tlogSigner(t)
		clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		tl := transparency.New(store.Transparency(db), key, clk, "kaigi.test")
		tenant := ids.NewTenant()
		tlogAppend(t, db, tl, tenant, 0, 8)
		b, err := tl.Bundle(ctx, tenant, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		seen, _, err := transparency.VerifyBundle(nil, b, key.VerifierKey()) // "yesterday"
		if err != nil {
			t.Fatal(err)
		}
		tlogAppend(t, db, tl, tenant, 8, 4)

		// The database refuses plain rewrites: the leaves are append-only.
		if _, err := db.Exec(ctx, `UPDATE tlog_leaves SET kind = 'x' WHERE tenant_id = ? AND idx = 2`, string(tenant)); err == nil {
			t.Fatal("the database let an entry be rewritten")
		}
		if _, err := db.Exec(ctx, `DELETE FROM tlog_leaves WHERE tenant_id = ? AND idx = 2`, string(tenant)); err == nil {
			t.Fatal("the database let an entry be deleted")
		}

		// Rewrite entry 2 behind the triggers' back.
		disable, enable := triggerSwitch(db)
		for _, q := range disable {
			tlogExec(t, db, q)
		}
		leaves, _ := tl.Leaves(ctx, tenant, 2, 1)
		forged := strings.Replace(string(leaves[0].Data), `"resource":"channel:c1"`, `"resource":"channel:c2"`, 1)
		tlogExec(t, db, `UPDATE tlog_leaves SET data = ?, leaf_hash = ? WHERE tenant_id = ? AND idx = 2`,
			[]byte(forged), transparency.Hasher.HashLeaf([]byte(forged)), string(tenant))
		full, err := tl.Bundle(ctx, tenant, seen.Size, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := transparency.VerifyBundle(&seen, full, key.VerifierKey()); !errors.Is(err, transparency.ErrInconsistent) {
			t.Fatalf("a rewritten entry went unnoticed: %v", err)
		}
		cp, _ := transparency.OpenCheckpoint(full.Checkpoint, key.VerifierKey(), tl.Origin(tenant))
		p, _ := tl.InclusionProof(ctx, tenant, 2, cp.Size)
		if err := transparency.VerifyInclusion(cp, full.Leaves[2], p); !errors.Is(err, transparency.ErrInconsistent) {
			t.Fatalf("the rewritten entry's inclusion proof passed: %v", err)
		}

		// Drop entry 5.
		tlogExec(t, db, `DELETE FROM tlog_leaves WHERE tenant_id = ? AND idx = 5`, string(tenant))
		dropped, err := tl.Bundle(ctx, tenant, seen.Size, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := transparency.VerifyBundle(&seen, dropped, key.VerifierKey()); !errors.Is(err, transparency.ErrInconsistent) {
			t.Fatalf("a dropped entry went unnoticed: %v", err)
		}
		for _, q := range enable {
			tlogExec(t, db, q)
		}

		// A fork: the operator rebuilds the tenant's log with a changed
		// history (in another database), signs it with the real key, and
		// serves it. The earlier head the tenant kept gives it away.
		forkDB := storetest.OpenSQLite(t)
		fork := transparency.New(store.Transparency(forkDB), key, clk, "kaigi.test")
		tlogAppend(t, forkDB, fork, tenant, 0, 3)
		err = forkDB.InTx(ctx, func(tx *store.Tx) error {
			_, err := fork.Append(ctx, tx, tenant, "access", accessBody{Operator: "op-1", Resource: "channel:secret", Request: "none", N: 3})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tlogAppend(t, forkDB, fork, tenant, 4, 8)
		forked, err := fork.Bundle(ctx, tenant, seen.Size, seen.Size)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := transparency.VerifyBundle(&seen, forked, key.VerifierKey()); !errors.Is(err, transparency.ErrInconsistent) {
			t.Fatalf("a forked log went unnoticed: %v", err)
		}
		// The same fork at the very size seen before.
		same, _ := fork.Bundle(ctx, tenant, 0, 0)
		same.Checkpoint, _ = fork.Checkpoint(ctx, tenant, seen.Size)
		same.Leaves = same.Leaves[:seen.Size]
		if _, _, err := transparency.VerifyBundle(&seen, same, key.VerifierKey()); !errors.Is(err, transparency.ErrInconsistent) {
			t.Fatalf("a fork of equal size went unnoticed: %v", err)
		}
	})
}

// triggerSwitch returns the statements that disable and re-enable the
// append-only triggers of tlog_leaves — what an attacker with the database
// would do.
func triggerSwitch(db *store.DB) (disable, enable []string) {
	if db.Dialect() == store.Postgres {
		return []string{`ALTER TABLE tlog_leaves DISABLE TRIGGER tlog_leaves_no_change`}, []string{`ALTER TABLE tlog_leaves ENABLE TRIGGER tlog_leaves_no_change`}
	}
	return []string{`DROP TRIGGER tlog_leaves_no_update`, `DROP TRIGGER tlog_leaves_no_delete`},
		[]string{`CREATE TRIGGER tlog_leaves_no_update BEFORE UPDATE ON tlog_leaves BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END`,
			`CREATE TRIGGER tlog_leaves_no_delete BEFORE DELETE ON tlog_leaves BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END`}
}

func tlogExec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.WithoutCancel(t.Context()), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
