package store_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// globalTables hold nothing of any one tenant: a tenant's deletion leaves
// them alone. A new table must be added here, to the purge order, or to
// the kept tables — TestPurgeOrderCoversTheSchema makes that choice
// explicit.
var globalTables = map[string]string{
	"schema_migrations":     "the schema's version",
	"legal_ledger":          "the provider's hash chain of government requests, sealed under the service's key",
	"legal_ledger_head":     "that chain's head",
	"subprocessor_changes":  "the subprocessor registry, the same for every tenant",
	"subprocessor_registry": "the registry's lock row",
	"setup_tokens":          "the first operator's enrolment links",
	"passkey_ceremonies":    "sealed under the service's key, named by a hash, tied to no tenant, gone within minutes",
}

// column is what the tests need to know of a column.
type column struct {
	name       string
	typ        string
	notNull    bool
	hasDefault bool
	pk         bool
}

// schema is the live schema, read from the database.
type schema struct {
	tables   []string
	cols     map[string][]column
	tenantID map[string]bool     // tables with a tenant_id column
	parents  map[string][]string // tables a table's foreign keys point at
}

func queryStrings(t *testing.T, db *store.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readSchema(t *testing.T, db *store.DB) schema {
	t.Helper()
	pg := db.Dialect() == store.Postgres
	sc := schema{cols: map[string][]column{}, tenantID: map[string]bool{}, parents: map[string][]string{}}
	if pg {
		sc.tables = queryStrings(t, db, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	} else {
		sc.tables = queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	}
	if len(sc.tables) < 50 {
		t.Fatalf("only %d tables: %v", len(sc.tables), sc.tables)
	}
	for _, table := range sc.tables {
		q := `SELECT name, type, "notnull" <> 0, dflt_value IS NOT NULL, pk > 0 FROM pragma_table_info(?) ORDER BY cid`
		if pg {
			q = `SELECT column_name, data_type, is_nullable = 'NO', column_default IS NOT NULL,
				EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
					WHERE i.indrelid = to_regclass(c.table_name::text) AND i.indisprimary AND a.attname = c.column_name)
				FROM information_schema.columns c WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`
		}
		rows, err := db.Query(t.Context(), q, table)
		if err != nil {
			t.Fatalf("columns of %s: %v", table, err)
		}
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.name, &c.typ, &c.notNull, &c.hasDefault, &c.pk); err != nil {
				t.Fatal(err)
			}
			c.typ = strings.ToLower(c.typ)
			sc.cols[table] = append(sc.cols[table], c)
			if c.name == "tenant_id" {
				sc.tenantID[table] = true
			}
		}
		rows.Close()
		if len(sc.cols[table]) == 0 {
			t.Fatalf("no columns read for %s", table)
		}
		q = `SELECT "table" FROM pragma_foreign_key_list(?)`
		if pg {
			q = `SELECT p.relname FROM pg_constraint c JOIN pg_class p ON p.oid = c.confrelid
				WHERE c.contype = 'f' AND c.conrelid = to_regclass(?::text)`
		}
		sc.parents[table] = queryStrings(t, db, q, table)
	}
	return sc
}

func (sc schema) primaryKey(table string) []string {
	var out []string
	for _, c := range sc.cols[table] {
		if c.pk {
			out = append(out, c.name)
		}
	}
	slices.Sort(out)
	return out
}

// TestPurgeOrderCoversTheSchema fails when a migration adds a table that
// the tenant deletion has not decided about: every table of the live
// schema is purged, kept, or global; every table with a tenant_id column
// is purged or kept; every child of a purged table is purged, before its
// parent; and each step batches by its table's primary key.
func TestPurgeOrderCoversTheSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sc := readSchema(t, db)
		order, keys := store.PurgeOrder()
		pos := map[string]int{}
		for i, table := range order {
			if _, dup := pos[table]; dup {
				t.Errorf("%s is in the purge order twice", table)
			}
			pos[table] = i
		}
		kept := map[string]bool{}
		for _, table := range store.KeptTables() {
			kept[table] = true
		}
		for _, table := range sc.tables {
			_, purged := pos[table]
			_, global := globalTables[table]
			switch {
			case purged && (kept[table] || global):
				t.Errorf("%s is both purged and kept", table)
			case !purged && !kept[table] && !global:
				t.Errorf("table %s: the tenant deletion does not know it. If it holds a tenant's data, add it to purgeOrder in store/deletions.go "+
					"(children before parents); if the provider keeps it, to keptTables; if it is no tenant's, to globalTables here", table)
			case global && sc.tenantID[table]:
				t.Errorf("%s has a tenant_id column but is listed as global", table)
			}
			for _, parent := range sc.parents[table] {
				if _, ok := pos[parent]; !ok {
					continue
				}
				if _, ok := pos[table]; !ok {
					t.Errorf("%s refers to %s, which is purged, but is not purged itself", table, parent)
				} else if pos[table] > pos[parent] {
					t.Errorf("%s is purged after its parent %s: a crash between them would block the parent", table, parent)
				}
			}
		}
		for i, table := range order {
			if sc.cols[table] == nil {
				t.Errorf("the purge order names %s, which the schema does not have", table)
				continue
			}
			got := slices.Sorted(slices.Values(keys[i]))
			if want := sc.primaryKey(table); !slices.Equal(got, want) {
				t.Errorf("%s is batched by %v, its primary key is %v", table, got, want)
			}
		}
		for table := range kept {
			if sc.cols[table] == nil {
				t.Errorf("kept table %s is not in the schema", table)
			}
		}
	})
}

// seeder inserts rows directly, filling every required column the test
// does not care about, and counts the rows by the tenant they belong to.
type seeder struct {
	t    *testing.T
	db   *store.DB
	sc   schema
	n    int64
	rows map[string]map[ids.TenantID]int
}

func newSeeder(t *testing.T, db *store.DB) *seeder {
	return &seeder{t: t, db: db, sc: readSchema(t, db), rows: map[string]map[ids.TenantID]int{}}
}

func (s *seeder) value(typ string) any {
	switch {
	case strings.Contains(typ, "int"):
		s.n++
		return s.n
	case strings.Contains(typ, "blob"), strings.Contains(typ, "bytea"):
		return ids.Token(8)
	case strings.Contains(typ, "real"), strings.Contains(typ, "double"), strings.Contains(typ, "numeric"):
		return 0.5
	}
	return ids.New()
}

// row inserts one row of owner into table: vals, the owner as tenant_id
// when the table has one, and made-up values for other required columns.
func (s *seeder) row(owner ids.TenantID, table string, vals map[string]any) {
	s.t.Helper()
	cols, ok := s.sc.cols[table]
	if !ok {
		s.t.Fatalf("no table %s", table)
	}
	var names, marks []string
	var args []any
	used := 0
	for _, c := range cols {
		v, ok := vals[c.name]
		if ok {
			used++
		} else if c.name == "tenant_id" {
			v, ok = string(owner), true
		} else if (c.notNull || c.pk) && !c.hasDefault {
			v, ok = s.value(c.typ), true
		}
		if ok {
			names, marks, args = append(names, c.name), append(marks, "?"), append(args, v)
		}
	}
	if used != len(vals) {
		s.t.Fatalf("%s: some of %v are not its columns", table, slices.Collect(maps.Keys(vals)))
	}
	q := `INSERT INTO ` + table + ` (` + strings.Join(names, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`
	if _, err := s.db.Exec(s.t.Context(), q, args...); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	if s.rows[table] == nil {
		s.rows[table] = map[ids.TenantID]int{}
	}
	s.rows[table][owner]++
}

// seededTenant names what seedTenant made.
type seededTenant struct {
	channel string
}

// seedTenant gives tenant rows in every table that holds a tenant's data.
func (s *seeder) seedTenant(tenant ids.TenantID) seededTenant {
	T := string(tenant)
	s.row(tenant, "tenants", map[string]any{"id": T})
	s.row(tenant, "tenant_domains", nil)
	s.row(tenant, "tenant_contracts", nil)
	acc, acc2 := ids.New(), ids.New()
	for _, a := range []string{acc, acc2} {
		s.row(tenant, "accounts", map[string]any{"id": a, "realm": "tenant"})
	}
	for range 4 {
		s.row(tenant, "sessions", map[string]any{"account_id": acc})
	}
	s.row(tenant, "sessions", map[string]any{"account_id": acc2})
	s.row(tenant, "api_tokens", map[string]any{"account_id": acc2})
	s.row(tenant, "mfa_factors", map[string]any{"account_id": acc})
	s.row(tenant, "mfa_factors", map[string]any{"account_id": acc2})
	s.row(tenant, "password_resets", map[string]any{"account_id": acc})
	s.row(tenant, "passkey_handles", map[string]any{"account_id": acc})
	s.row(tenant, "invitations", nil)
	s.row(tenant, "signin_log", nil)
	s.row(tenant, "signin_log", nil)

	team := ids.New()
	s.row(tenant, "teams", map[string]any{"id": team})
	for _, a := range []string{acc, acc2} {
		s.row(tenant, "team_members", map[string]any{"team_id": team, "account_id": a})
	}
	ch1, ch2 := ids.New(), ids.New()
	for _, ch := range []string{ch1, ch2} {
		s.row(tenant, "channels", map[string]any{"id": ch})
	}
	for _, a := range []string{acc, acc2} {
		s.row(tenant, "channel_members", map[string]any{"channel_id": ch1, "account_id": a})
	}
	var msgs []string
	for i := range 7 {
		m, ch := ids.New(), ch1
		if i%3 == 2 {
			ch = ch2
		}
		msgs = append(msgs, m)
		s.row(tenant, "messages", map[string]any{"id": m, "channel_id": ch})
		s.row(tenant, "channel_events", map[string]any{"channel_id": ch, "message_id": m})
	}
	s.row(tenant, "channel_events", map[string]any{"channel_id": ch2, "message_id": ""})
	for _, m := range []string{msgs[0], msgs[0], msgs[1], msgs[4]} {
		s.row(tenant, "message_versions", map[string]any{"message_id": m})
	}
	s.row(tenant, "reactions", map[string]any{"message_id": msgs[0], "account_id": acc, "emoji": "+1"})
	s.row(tenant, "reactions", map[string]any{"message_id": msgs[0], "account_id": acc2, "emoji": "+1"})
	s.row(tenant, "reactions", map[string]any{"message_id": msgs[5], "account_id": acc, "emoji": "tada"})
	s.row(tenant, "attachments", map[string]any{"channel_id": ch1, "message_id": msgs[1]})
	s.row(tenant, "attachments", map[string]any{"channel_id": ch1, "message_id": msgs[6]})
	s.row(tenant, "notifications", map[string]any{"account_id": acc, "message_id": msgs[0]})
	s.row(tenant, "notifications", map[string]any{"account_id": acc2, "message_id": msgs[4]})

	meeting := ids.New()
	s.row(tenant, "meetings", map[string]any{"id": meeting})
	s.row(tenant, "meeting_invitees", map[string]any{"meeting_id": meeting, "account_id": acc, "email": ""})
	s.row(tenant, "meeting_invitees", map[string]any{"meeting_id": meeting, "account_id": "", "email": "x@example.com"})
	s.row(tenant, "meeting_recordings", map[string]any{"meeting_id": meeting})

	s.row(tenant, "moderation_policies", nil)
	s.row(tenant, "moderation_alerts", nil)
	s.row(tenant, "moderation_alerts", nil)
	s.row(tenant, "moderation_notices", map[string]any{"account_id": acc})
	s.row(tenant, "moderation_pattern_events", nil)

	cs := ids.New()
	s.row(tenant, "discovery_cases", map[string]any{"id": cs})
	s.row(tenant, "discovery_case_members", map[string]any{"case_id": cs, "account_id": acc})
	search := ids.New()
	s.row(tenant, "discovery_searches", map[string]any{"id": search, "case_id": cs})
	for _, m := range msgs[:4] {
		s.row(tenant, "discovery_hits", map[string]any{"search_id": search, "item_id": m})
	}
	s.row(tenant, "discovery_review", map[string]any{"case_id": cs, "item_id": msgs[0]})
	export := ids.New()
	s.row(tenant, "discovery_exports", map[string]any{"id": export})
	s.row(tenant, "discovery_export_parts", map[string]any{"export_id": export})
	s.row(tenant, "discovery_export_parts", map[string]any{"export_id": export})

	s.row(tenant, "retention_policies", nil)
	s.row(tenant, "legal_holds", nil)
	s.row(tenant, "retention_pending_blobs", nil)
	s.row(tenant, "lockbox_requests", nil)
	s.row(tenant, "subprocessor_objections", nil)
	s.row(tenant, "subprocessor_webhooks", nil)
	s.row(tenant, "jobs", nil)
	s.row(tenant, "jobs", nil)
	for range 4 {
		s.row(tenant, "sealed_records", nil)
	}

	s.row(tenant, "audit_settings", nil)
	for seq := 1; seq <= 5; seq++ {
		s.row(tenant, "audit_log", map[string]any{"seq": seq})
	}
	s.row(tenant, "audit_heads", map[string]any{"seq": 5})
	s.row(tenant, "audit_checkpoints", map[string]any{"seq": 5})
	s.row(tenant, "audit_anchors", map[string]any{"seq": 2})
	s.row(tenant, "audit_sinks", nil)
	for idx := range 4 {
		s.row(tenant, "tlog_leaves", map[string]any{"idx": idx})
	}
	s.row(tenant, "tlog_nodes", nil)
	s.row(tenant, "tlog_nodes", nil)
	s.row(tenant, "tlog_heads", nil)
	s.row(tenant, "tlog_checkpoints", nil)
	s.row(tenant, "tlog_hooks", nil)

	for v, kek := range []string{"kek-1", "kek-1", "kek-2", "kek-1"} {
		s.row(tenant, "data_keys", map[string]any{"version": v + 1, "kek_id": kek})
	}
	// The provider's record, which outlives the tenant.
	s.row(tenant, "legal_requests", nil)
	return seededTenant{channel: ch1}
}

// seedService gives the service's own tenant (operators, its audit log,
// the deletion job itself) and the global tables rows.
func (s *seeder) seedService(deleted ids.TenantID) {
	svc := ids.ServiceTenant
	op := ids.New()
	s.row(svc, "accounts", map[string]any{"id": op, "realm": "operator"})
	s.row(svc, "sessions", map[string]any{"account_id": op})
	for seq := 1; seq <= 3; seq++ {
		s.row(svc, "audit_log", map[string]any{"seq": seq})
	}
	s.row(svc, "audit_heads", map[string]any{"seq": 3})
	s.row(svc, "sealed_records", nil)
	s.row(svc, "jobs", map[string]any{"kind": provider.DeleteJob, "subject": "tenant:" + string(deleted)})
	s.row(svc, "legal_ledger", nil)
	s.row(svc, "setup_tokens", nil)
	s.row(svc, "subprocessor_changes", nil)
}

func countRows(t *testing.T, db *store.DB, tables []string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range tables {
		var n int64
		if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

func tenantRows(t *testing.T, db *store.DB, table string, tenant ids.TenantID) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ?`, string(tenant)).Scan(&n); err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	return n
}

func putDeletion(t *testing.T, ds provider.DeletionStore, d provider.Deletion) {
	t.Helper()
	err := ds.UpdateDeletions(t.Context(), func(tx provider.DeletionTx) error { return tx.PutDeletion(t.Context(), d) })
	if err != nil {
		t.Fatalf("put deletion: %v", err)
	}
}

func mustDeletion(t *testing.T, ds provider.DeletionStore, tenant ids.TenantID) provider.Deletion {
	t.Helper()
	d, found, err := ds.Deletion(t.Context(), tenant)
	if err != nil || !found {
		t.Fatalf("deletion of %s: found %v, %v", tenant, found, err)
	}
	return d
}

// TestPurgeTenantWalksTheSchema deletes a tenant with rows in every table
// that holds a tenant's data, a few rows at a time, and then walks the
// live schema: nothing of it is left but the kept tables; the other
// tenant and the service lost nothing; the counts are exact; and every
// batch stayed within its bound and its one table.
func TestPurgeTenantWalksTheSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s := newSeeder(t, db)
		a, b := ids.NewTenant(), ids.NewTenant()
		s.seedTenant(a)
		bs := s.seedTenant(b)
		s.seedService(a)
		// A row of a in b's channel: no parent path of a reaches it; the
		// final sweep by tenant_id does.
		s.row(a, "channel_events", map[string]any{"channel_id": bs.channel, "message_id": ""})

		order, _ := store.PurgeOrder()
		for _, table := range order {
			if s.rows[table][a] == 0 {
				t.Errorf("the test seeds no %s of the tenant", table)
			}
		}

		ds := store.Deletions(db)
		keys, err := ds.TenantKeys(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		want := []provider.DestroyedKey{{KEKID: "kek-1", Versions: []uint32{1, 2, 4}}, {KEKID: "kek-2", Versions: []uint32{3}}}
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("tenant keys: %+v, want %+v", keys, want)
		}
		now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
		putDeletion(t, ds, provider.Deletion{Tenant: a, State: provider.DeletionRunning, Reason: provider.ReasonContractEnd,
			Requested: now, ExecuteAt: now, Started: now, Keys: keys})
		// The keys service shreds: the tombstone, and no data keys left.
		if err := db.DeleteDataKeys(ctx, a); err != nil {
			t.Fatal(err)
		}
		s.rows["data_keys"][a] = 0
		// One left behind anyway (a key added by a node that had not seen
		// the tombstone yet) goes with the rest.
		s.row(a, "data_keys", map[string]any{"version": 9, "kek_id": "kek-3"})

		before := countRows(t, db, s.sc.tables)
		prev := map[string]int64{}
		calls := 0
		for {
			done, err := ds.PurgeTenant(ctx, a, 3)
			if err != nil {
				t.Fatalf("purge call %d: %v", calls+1, err)
			}
			calls++
			counts := mustDeletion(t, ds, a).Counts
			var changed []string
			for table, n := range counts {
				if d := n - prev[table]; d != 0 {
					changed = append(changed, table)
					if d < 0 || d > 3 {
						t.Fatalf("call %d deleted %d rows of %s, the bound is 3", calls, d, table)
					}
				}
			}
			if done {
				if len(changed) != 0 {
					t.Fatalf("the call that reported done deleted from %v", changed)
				}
				break
			}
			if len(changed) != 1 {
				t.Fatalf("call %d deleted from %v, not one table", calls, changed)
			}
			prev = counts
			if calls > 1000 {
				t.Fatal("the purge does not end")
			}
		}
		after := countRows(t, db, s.sc.tables)

		d := mustDeletion(t, ds, a)
		kept := store.KeptTables()
		wantCounts := map[string]int64{}
		for table, owners := range s.rows {
			if n := owners[a]; n > 0 && !slices.Contains(kept, table) {
				wantCounts[table] = int64(n)
			}
		}
		if !maps.Equal(d.Counts, wantCounts) {
			for table := range maps.Keys(wantCounts) {
				if d.Counts[table] != wantCounts[table] {
					t.Errorf("counts[%s] = %d, seeded %d", table, d.Counts[table], wantCounts[table])
				}
			}
			for table := range maps.Keys(d.Counts) {
				if _, ok := wantCounts[table]; !ok {
					t.Errorf("counts[%s] = %d, none seeded", table, d.Counts[table])
				}
			}
		}
		// Exactly what was counted left each table: not one row of the
		// other tenant, the service or the global tables.
		for _, table := range s.sc.tables {
			if gone := before[table] - after[table]; gone != d.Counts[table] {
				t.Errorf("%s lost %d rows, the counts say %d", table, gone, d.Counts[table])
			}
		}

		// The walk: every table with a tenant_id, as the schema has it now.
		for _, table := range s.sc.tables {
			if !s.sc.tenantID[table] {
				continue
			}
			left := tenantRows(t, db, table, a)
			switch {
			case slices.Contains(kept, table):
				if left == 0 {
					t.Errorf("kept table %s lost the tenant's rows", table)
				}
			case left > 0:
				t.Errorf("%s still has %d rows of the deleted tenant", table, left)
			}
			if got, want := tenantRows(t, db, table, b), s.rows[table][b]; got != want {
				t.Errorf("%s has %d rows of the other tenant, it had %d", table, got, want)
			}
			if got, want := tenantRows(t, db, table, ids.ServiceTenant), s.rows[table][ids.ServiceTenant]; got != want {
				t.Errorf("%s has %d rows of the service, it had %d", table, got, want)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM tenants WHERE id = ?`, string(a)).Scan(&n); err != nil || n != 0 {
			t.Errorf("the tenant's row: %d (%v)", n, err)
		}

		t.Run("done again: nothing deleted, counts unchanged", func(t *testing.T) {
			for range 2 {
				done, err := ds.PurgeTenant(ctx, a, 3)
				if err != nil || !done {
					t.Fatalf("purge after done: %v, %v", done, err)
				}
			}
			if got := mustDeletion(t, ds, a).Counts; !maps.Equal(got, d.Counts) {
				t.Fatalf("counts changed: %v, were %v", got, d.Counts)
			}
			// And once the deletion is marked done.
			fin := d
			fin.State, fin.Finished = provider.DeletionDone, now.Add(time.Hour)
			putDeletion(t, ds, fin)
			done, err := ds.PurgeTenant(ctx, a, 3)
			if err != nil || !done {
				t.Fatalf("purge of a done deletion: %v, %v", done, err)
			}
			if got := mustDeletion(t, ds, a).Counts; !maps.Equal(got, d.Counts) {
				t.Fatalf("counts changed: %v, were %v", got, d.Counts)
			}
		})

		t.Run("compact", func(t *testing.T) {
			if err := ds.Compact(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestPurgeTenantPreconditions: nothing is deleted for the service's own
// tenant, without a running deletion, or before the keys are shredded;
// and a table with rows of the tenant that the purge does not know stops
// it instead of letting it report done.
func TestPurgeTenantPreconditions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ds := store.Deletions(db)
		s := newSeeder(t, db)
		tenant := ids.NewTenant()
		s.row(tenant, "tenants", map[string]any{"id": string(tenant)})
		s.row(tenant, "accounts", map[string]any{"realm": "tenant"})
		s.row(tenant, "audit_log", map[string]any{"seq": 1})

		if _, err := ds.PurgeTenant(ctx, ids.ServiceTenant, 10); !errs.Is(err, errs.Invalid) {
			t.Errorf("purge of the service's tenant: %v", err)
		}
		if _, err := ds.PurgeTenant(ctx, tenant, 10); !errs.Is(err, errs.NotFound) {
			t.Errorf("purge without a deletion: %v", err)
		}
		d := provider.Deletion{Tenant: tenant, State: provider.DeletionScheduled, Reason: provider.ReasonCustomerRequest, Requested: time.Now()}
		putDeletion(t, ds, d)
		if _, err := ds.PurgeTenant(ctx, tenant, 10); !errs.Is(err, errs.Conflict) {
			t.Errorf("purge of a scheduled deletion: %v", err)
		}
		d.State = provider.DeletionRunning
		putDeletion(t, ds, d)
		if _, err := ds.PurgeTenant(ctx, tenant, 10); !errs.Is(err, errs.Conflict) {
			t.Errorf("purge before the keys are shredded: %v", err)
		}
		if n := tenantRows(t, db, "accounts", tenant); n != 1 {
			t.Fatalf("refused purges deleted accounts: %d left", n)
		}
		if err := db.DeleteDataKeys(ctx, tenant); err != nil {
			t.Fatal(err)
		}

		// A table from a future migration that nobody added to the purge.
		if _, err := db.Exec(ctx, `CREATE TABLE future_things (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO future_things (id, tenant_id) VALUES ('f1', ?)`, string(tenant)); err != nil {
			t.Fatal(err)
		}
		var err error
		for i := 0; i < 100; i++ {
			var done bool
			if done, err = ds.PurgeTenant(ctx, tenant, 10); err != nil || done {
				break
			}
		}
		if err == nil || !strings.Contains(err.Error(), "future_things") {
			t.Fatalf("the purge ended without a word about future_things: %v", err)
		}
		if _, err := db.Exec(ctx, `DELETE FROM future_things`); err != nil {
			t.Fatal(err)
		}
		if done, err := ds.PurgeTenant(ctx, tenant, 10); err != nil || !done {
			t.Fatalf("purge once the unknown table is empty: %v, %v", done, err)
		}
		if got := mustDeletion(t, ds, tenant).Counts; !maps.Equal(got, map[string]int64{"tenants": 1, "accounts": 1, "audit_log": 1}) {
			t.Fatalf("counts: %v", got)
		}
	})
}

// TestDeletionLogTablesRefuse: the audit log, its anchors and the
// transparency log give up a tenant's rows only when its keys are
// shredded and its deletion is running — never the service's — and are
// never updated.
func TestDeletionLogTablesRefuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ds := store.Deletions(db)
		s := newSeeder(t, db)
		logRows := func(tenant ids.TenantID) {
			for seq := 1; seq <= 3; seq++ {
				s.row(tenant, "audit_log", map[string]any{"seq": seq})
			}
			s.row(tenant, "audit_anchors", map[string]any{"seq": 1})
			for idx := range 2 {
				s.row(tenant, "tlog_leaves", map[string]any{"idx": idx})
			}
		}
		type stmt struct{ q, refusal string }
		deletes := []stmt{
			{`DELETE FROM audit_log WHERE tenant_id = ? AND seq > 1`, "append-only"},
			{`DELETE FROM audit_anchors WHERE tenant_id = ?`, "anchor"},
			{`DELETE FROM tlog_leaves WHERE tenant_id = ?`, "append-only"},
		}
		updates := []stmt{
			{`UPDATE audit_log SET action = 'x' WHERE tenant_id = ?`, "append-only"},
			{`UPDATE audit_anchors SET seq = 0 WHERE tenant_id = ?`, "anchor"},
			{`UPDATE tlog_leaves SET kind = 'x' WHERE tenant_id = ?`, "append-only"},
		}
		refused := func(t *testing.T, tenant ids.TenantID, stmts []stmt) {
			t.Helper()
			for _, st := range stmts {
				_, err := db.Exec(ctx, st.q, string(tenant))
				if err == nil || !strings.Contains(err.Error(), st.refusal) {
					t.Errorf("%s: %v, want refused (%s)", st.q, err, st.refusal)
				}
			}
			if n := tenantRows(t, db, "audit_log", tenant) + tenantRows(t, db, "audit_anchors", tenant) + tenantRows(t, db, "tlog_leaves", tenant); n != 6 {
				t.Errorf("%d log rows left, want 6", n)
			}
		}

		tests := []struct {
			name  string
			shred bool
			state string
		}{
			{"no deletion, keys not shredded", false, ""},
			{"deletion running, keys not shredded", false, provider.DeletionRunning},
			{"keys shredded, no deletion", true, ""},
			{"keys shredded, deletion awaiting its code", true, provider.DeletionAwaitingCode},
			{"keys shredded, deletion scheduled", true, provider.DeletionScheduled},
			{"keys shredded, deletion done", true, provider.DeletionDone},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tenant := ids.NewTenant()
				logRows(tenant)
				if tt.shred {
					if err := db.DeleteDataKeys(ctx, tenant); err != nil {
						t.Fatal(err)
					}
				}
				if tt.state != "" {
					putDeletion(t, ds, provider.Deletion{Tenant: tenant, State: tt.state, Reason: provider.ReasonContractEnd})
				}
				refused(t, tenant, deletes)
				refused(t, tenant, updates)
			})
		}

		t.Run("the service's own log, whatever its rows say", func(t *testing.T) {
			svc := ids.ServiceTenant
			logRows(svc)
			s.row(svc, "shredded_tenants", nil)
			s.row(svc, "tenant_deletions", map[string]any{"state": provider.DeletionRunning})
			refused(t, svc, deletes)
			refused(t, svc, updates)
		})

		t.Run("keys shredded and deletion running: deletes pass, updates do not", func(t *testing.T) {
			tenant := ids.NewTenant()
			logRows(tenant)
			if err := db.DeleteDataKeys(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			putDeletion(t, ds, provider.Deletion{Tenant: tenant, State: provider.DeletionRunning, Reason: provider.ReasonContractEnd})
			refused(t, tenant, updates)
			for _, st := range deletes {
				if _, err := db.Exec(ctx, st.q, string(tenant)); err != nil {
					t.Errorf("%s: %v", st.q, err)
				}
			}
			if n := tenantRows(t, db, "audit_log", tenant) + tenantRows(t, db, "audit_anchors", tenant) + tenantRows(t, db, "tlog_leaves", tenant); n != 1 {
				t.Errorf("%d log rows left, want the one record at the anchor", n)
			}
		})

		t.Run("retention still prunes at or below the anchor", func(t *testing.T) {
			tenant := ids.NewTenant()
			logRows(tenant)
			if _, err := db.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ? AND seq <= 1`, string(tenant)); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("a started deletion's row is never deleted", func(t *testing.T) {
			for _, state := range []string{provider.DeletionRunning, provider.DeletionDone} {
				tenant := ids.NewTenant()
				putDeletion(t, ds, provider.Deletion{Tenant: tenant, State: state, Reason: provider.ReasonContractEnd})
				if _, err := db.Exec(ctx, `DELETE FROM tenant_deletions WHERE tenant_id = ?`, string(tenant)); err == nil {
					t.Errorf("a %s deletion's row was deleted", state)
				}
			}
		})
	})
}

// TestDeletionStore: a deletion is stored and read back whole, listed
// oldest request first, and only one that has not started is removed.
func TestDeletionStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ds := store.Deletions(db)
		at := time.Date(2027, 1, 2, 3, 4, 5, 6, time.UTC)
		full := provider.Deletion{
			Tenant: ids.NewTenant(), State: provider.DeletionDone, Reason: provider.ReasonCustomerRequest, RequestedBy: ids.NewUser(),
			Requested: at, ExecuteAt: at.Add(72 * time.Hour), Started: at.Add(73 * time.Hour), Finished: at.Add(74 * time.Hour),
			Keys:     []provider.DestroyedKey{{KEKID: "kek-a", Versions: []uint32{1, 2}}},
			Counts:   map[string]int64{"messages": 12, "audit_log": 3},
			CodeHash: []byte{1, 2, 3}, CodeExpires: at.Add(30 * time.Minute), Attempts: 2,
			Certificate: []byte(`{"kind":"x"}`), Signature: []byte{9, 9},
		}
		putDeletion(t, ds, full)
		if got := mustDeletion(t, ds, full.Tenant); !reflect.DeepEqual(got, full) {
			t.Fatalf("read back:\n%+v\nwant\n%+v", got, full)
		}
		err := ds.UpdateDeletions(ctx, func(tx provider.DeletionTx) error {
			got, found, err := tx.TenantDeletion(ctx, full.Tenant)
			if err != nil || !found || !reflect.DeepEqual(got, full) {
				return fmt.Errorf("in the transaction: %+v %v %v", got, found, err)
			}
			if _, found, err := tx.TenantDeletion(ctx, ids.NewTenant()); err != nil || found {
				return fmt.Errorf("a tenant without a deletion: %v %v", found, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// An upsert replaces every field, the zero ones included.
		bare := provider.Deletion{Tenant: full.Tenant, State: provider.DeletionRunning, Reason: provider.ReasonContractEnd, Requested: at}
		putDeletion(t, ds, bare)
		if got := mustDeletion(t, ds, full.Tenant); !reflect.DeepEqual(got, bare) {
			t.Fatalf("after the upsert:\n%+v\nwant\n%+v", got, bare)
		}

		awaiting := provider.Deletion{Tenant: ids.NewTenant(), State: provider.DeletionAwaitingCode, Reason: provider.ReasonCustomerRequest, Requested: at.Add(-time.Hour)}
		scheduled := provider.Deletion{Tenant: ids.NewTenant(), State: provider.DeletionScheduled, Reason: provider.ReasonContractEnd, Requested: at.Add(time.Hour)}
		done := provider.Deletion{Tenant: ids.NewTenant(), State: provider.DeletionDone, Reason: provider.ReasonContractEnd, Requested: at.Add(2 * time.Hour)}
		for _, d := range []provider.Deletion{scheduled, done, awaiting} {
			putDeletion(t, ds, d)
		}
		list, err := ds.Deletions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var order []ids.TenantID
		for _, d := range list {
			order = append(order, d.Tenant)
		}
		if want := []ids.TenantID{awaiting.Tenant, bare.Tenant, scheduled.Tenant, done.Tenant}; !slices.Equal(order, want) {
			t.Fatalf("order %v, want %v", order, want)
		}

		remove := func(tenant ids.TenantID) error {
			return ds.UpdateDeletions(ctx, func(tx provider.DeletionTx) error { return tx.RemoveDeletion(ctx, tenant) })
		}
		for _, d := range []provider.Deletion{awaiting, scheduled} {
			if err := remove(d.Tenant); err != nil {
				t.Fatalf("remove a %s deletion: %v", d.State, err)
			}
			if _, found, _ := ds.Deletion(ctx, d.Tenant); found {
				t.Fatalf("a removed %s deletion is still there", d.State)
			}
		}
		for _, d := range []provider.Deletion{bare, done} {
			if err := remove(d.Tenant); !errs.Is(err, errs.Conflict) {
				t.Fatalf("remove a %s deletion: %v, want a conflict", d.State, err)
			}
			if _, found, _ := ds.Deletion(ctx, d.Tenant); !found {
				t.Fatalf("a %s deletion was removed", d.State)
			}
		}
		if err := remove(ids.NewTenant()); err != nil {
			t.Fatalf("remove no deletion: %v", err)
		}

		keys, err := ds.TenantKeys(ctx, ids.NewTenant())
		if err != nil || keys == nil || len(keys) != 0 {
			t.Fatalf("keys of a tenant without any: %v %v", keys, err)
		}
	})
}
