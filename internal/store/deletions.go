package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/provider"
)

// Deletions adapts db to the tenant deletion service's store.
func Deletions(db *DB) provider.DeletionStore { return deletionStore{db} }

type deletionStore struct{ *DB }

var (
	_ provider.DeletionTx    = (*Tx)(nil)
	_ provider.DeletionStore = deletionStore{}
)

func (s deletionStore) UpdateDeletions(ctx context.Context, fn func(tx provider.DeletionTx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const deletionCols = `tenant_id, state, reason, requested_by, requested_at, execute_at, started_at, finished_at,
	keys, counts, code_hash, code_expires, attempts, certificate, signature, contract_end`

// PutDeletion inserts or replaces the tenant's deletion, every field.
func (tx *Tx) PutDeletion(ctx context.Context, d provider.Deletion) error {
	keys, err := json.Marshal(d.Keys)
	if err != nil {
		return err
	}
	counts, err := json.Marshal(d.Counts)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO tenant_deletions (`+deletionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, requested_by = excluded.requested_by,
			requested_at = excluded.requested_at, execute_at = excluded.execute_at, started_at = excluded.started_at,
			finished_at = excluded.finished_at, keys = excluded.keys, counts = excluded.counts, code_hash = excluded.code_hash,
			code_expires = excluded.code_expires, attempts = excluded.attempts, certificate = excluded.certificate,
			signature = excluded.signature, contract_end = excluded.contract_end`,
		string(d.Tenant), d.State, d.Reason, string(d.RequestedBy), zeroNS(d.Requested), zeroNS(d.ExecuteAt), zeroNS(d.Started),
		zeroNS(d.Finished), string(keys), string(counts), nullBytes(d.CodeHash), zeroNS(d.CodeExpires), d.Attempts,
		nullBytes(d.Certificate), nullBytes(d.Signature), zeroNS(d.ContractEnd))
	return err
}

// RemoveDeletion forgets a deletion that has not started. One that is
// running or done is never removed (a trigger refuses it too): it only
// goes forward, and once done it is the tenant's certificate.
func (tx *Tx) RemoveDeletion(ctx context.Context, tenant ids.TenantID) error {
	res, err := tx.Exec(ctx, `DELETE FROM tenant_deletions WHERE tenant_id = ? AND state IN (?, ?)`,
		string(tenant), provider.DeletionAwaitingCode, provider.DeletionScheduled)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var state string
	err = tx.QueryRow(ctx, `SELECT state FROM tenant_deletions WHERE tenant_id = ?`, string(tenant)).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return errs.E(errs.Conflict, "The tenant's deletion has started; it can no longer be cancelled.")
}

// ContractEnd reads the tenant's contract end in the transaction; on
// PostgreSQL it locks the row until the transaction ends, so that a
// deletion's start and an operator's reactivation (which writes that row
// first) take turns. SQLite's transactions take turns anyway.
func (tx *Tx) ContractEnd(ctx context.Context, tenant ids.TenantID) (time.Time, bool, error) {
	q := `SELECT end_at FROM tenant_contracts WHERE tenant_id = ?`
	if tx.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var end sql.NullInt64
	err := tx.QueryRow(ctx, q, string(tenant)).Scan(&end)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil || !end.Valid {
		return time.Time{}, err == nil, err
	}
	return fromNS(end.Int64), true, nil
}

// nullBytes stores nil as NULL.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func scanDeletion(sc interface{ Scan(...any) error }) (provider.Deletion, error) {
	var d provider.Deletion
	var tenant, by, keys, counts string
	var requested, execute, started, finished, expires, end int64
	if err := sc.Scan(&tenant, &d.State, &d.Reason, &by, &requested, &execute, &started, &finished,
		&keys, &counts, &d.CodeHash, &expires, &d.Attempts, &d.Certificate, &d.Signature, &end); err != nil {
		return d, err
	}
	d.Tenant, d.RequestedBy = ids.TenantID(tenant), ids.UserID(by)
	d.Requested, d.ExecuteAt, d.Started, d.Finished = fromZeroNS(requested), fromZeroNS(execute), fromZeroNS(started), fromZeroNS(finished)
	d.CodeExpires, d.ContractEnd = fromZeroNS(expires), fromZeroNS(end)
	if err := json.Unmarshal([]byte(keys), &d.Keys); err != nil {
		return d, fmt.Errorf("deletion of %s: keys: %w", tenant, err)
	}
	if err := json.Unmarshal([]byte(counts), &d.Counts); err != nil {
		return d, fmt.Errorf("deletion of %s: counts: %w", tenant, err)
	}
	return d, nil
}

// TenantDeletion reads the tenant's deletion inside the transaction. On
// PostgreSQL it locks the row until the transaction ends, so that two
// transactions that read, change and put it (a code's attempts, a start)
// take turns; SQLite's transactions take turns anyway.
func (tx *Tx) TenantDeletion(ctx context.Context, tenant ids.TenantID) (provider.Deletion, bool, error) {
	q := `SELECT ` + deletionCols + ` FROM tenant_deletions WHERE tenant_id = ?`
	if tx.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	d, err := scanDeletion(tx.QueryRow(ctx, q, string(tenant)))
	if errors.Is(err, sql.ErrNoRows) {
		return provider.Deletion{}, false, nil
	}
	return d, err == nil, err
}

func (s deletionStore) Deletion(ctx context.Context, tenant ids.TenantID) (provider.Deletion, bool, error) {
	d, err := scanDeletion(s.QueryRow(ctx, `SELECT `+deletionCols+` FROM tenant_deletions WHERE tenant_id = ?`, string(tenant)))
	if errors.Is(err, sql.ErrNoRows) {
		return provider.Deletion{}, false, nil
	}
	return d, err == nil, err
}

func (s deletionStore) Deletions(ctx context.Context) ([]provider.Deletion, error) {
	rows, err := s.Query(ctx, `SELECT `+deletionCols+` FROM tenant_deletions ORDER BY requested_at, tenant_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []provider.Deletion{}
	for rows.Next() {
		d, err := scanDeletion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TenantKeys lists the tenant's key-encryption keys, oldest first, each
// with the data key versions it wraps in ascending order.
func (s deletionStore) TenantKeys(ctx context.Context, tenant ids.TenantID) ([]provider.DestroyedKey, error) {
	rows, err := s.Query(ctx, `SELECT kek_id, version FROM data_keys WHERE tenant_id = ? ORDER BY version`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []provider.DestroyedKey{}
	at := map[string]int{}
	for rows.Next() {
		var kek string
		var v int64
		if err := rows.Scan(&kek, &v); err != nil {
			return nil, err
		}
		i, ok := at[kek]
		if !ok {
			i = len(out)
			at[kek] = i
			out = append(out, provider.DestroyedKey{KEKID: kek})
		}
		out[i].Versions = append(out[i].Versions, uint32(v))
	}
	return out, rows.Err()
}

// ---- purging a tenant

// purgeStep deletes one table's rows of a tenant.
type purgeStep struct {
	table string
	// key is the table's primary key: PostgreSQL batches by it (SQLite
	// by rowid).
	key []string
	// where selects the tenant's rows; every ? is the tenant, and
	// {limit} is the batch size.
	where string
	// order, when set, makes the batch the first rows in that order.
	order string
}

// The tenant's oldest messages, a batch's worth: their children are
// deleted, then they are, then the next ones' — so each batch finds its
// rows through an index instead of through every message of the tenant.
const messageWindow = `(SELECT id FROM messages WHERE tenant_id = ? ORDER BY id LIMIT {limit})`

// The tenant's accounts; guests live in their host tenant, operators in
// the service's.
const tenantAccounts = `(SELECT id FROM accounts WHERE realm = 'tenant' AND tenant_id = ?)`

// purgeOrder is every table that holds a tenant's data, children before
// their parents: the foreign keys hold after every batch, so a crash
// between two batches leaves nothing that the next run cannot reach.
// Where a table has no index on tenant_id, its rows are found through its
// parent's index instead; whatever is left of it with the tenant's id is
// swept by tenant_id at the end (see PurgeTenant).
//
// Not here: the tables in keptTables; legal_ledger and legal_ledger_head
// (the provider's sealed ledger), subprocessor_changes and
// subprocessor_registry (global), setup_tokens (the first operator's
// enrolment), and passkey_ceremonies: sealed under the service's key,
// named by a hash, tied to no tenant, and gone within minutes.
var purgeOrder = []purgeStep{
	// eDiscovery.
	{table: "discovery_export_parts", key: []string{"export_id", "kind", "n"}, where: `export_id IN (SELECT id FROM discovery_exports WHERE tenant_id = ?)`},
	{table: "discovery_exports", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "discovery_hits", key: []string{"search_id", "item_id"}, where: `search_id IN (SELECT id FROM discovery_searches WHERE tenant_id = ?)`},
	{table: "discovery_searches", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "discovery_review", key: []string{"case_id", "item_id"}, where: `case_id IN (SELECT id FROM discovery_cases WHERE tenant_id = ?)`},
	{table: "discovery_case_members", key: []string{"case_id", "account_id"}, where: `case_id IN (SELECT id FROM discovery_cases WHERE tenant_id = ?)`},
	{table: "discovery_cases", key: []string{"id"}, where: `tenant_id = ?`},

	// Communication compliance (names messages by id, without a foreign key).
	{table: "moderation_alerts", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "moderation_notices", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "moderation_pattern_events", key: []string{"tenant_id", "target_id", "message_id"}, where: `tenant_id = ?`},
	{table: "moderation_policies", key: []string{"tenant_id"}, where: `tenant_id = ?`},

	// Chat: a window of messages at a time, children first.
	{table: "reactions", key: []string{"message_id", "account_id", "emoji"}, where: `message_id IN ` + messageWindow},
	{table: "message_versions", key: []string{"message_id", "version"}, where: `message_id IN ` + messageWindow},
	{table: "attachments", key: []string{"id"}, where: `tenant_id = ? AND message_id IN ` + messageWindow},
	{table: "messages", key: []string{"id"}, where: `tenant_id = ?`, order: "id"},
	{table: "notifications", key: []string{"id"}, where: `tenant_id = ? AND account_id IN ` + tenantAccounts},
	{table: "channel_events", key: []string{"channel_id", "seq"}, where: `tenant_id = ? AND channel_id IN (SELECT id FROM channels WHERE tenant_id = ?)`},
	{table: "channel_members", key: []string{"channel_id", "account_id"}, where: `channel_id IN (SELECT id FROM channels WHERE tenant_id = ?)`},
	{table: "channels", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "team_members", key: []string{"team_id", "account_id"}, where: `team_id IN (SELECT id FROM teams WHERE tenant_id = ?)`},
	{table: "teams", key: []string{"id"}, where: `tenant_id = ?`},

	// Meetings.
	{table: "meeting_invitees", key: []string{"meeting_id", "account_id", "email"}, where: `meeting_id IN (SELECT id FROM meetings WHERE tenant_id = ?)`},
	{table: "meeting_recordings", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "meetings", key: []string{"id"}, where: `tenant_id = ?`},

	// Retention, holds, lockbox, subprocessor notices, jobs, settings.
	{table: "retention_pending_blobs", key: []string{"tenant_id", "blob_key"}, where: `tenant_id = ?`},
	{table: "retention_policies", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "legal_holds", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "lockbox_requests", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "subprocessor_objections", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "subprocessor_webhooks", key: []string{"tenant_id"}, where: `tenant_id = ?`},
	{table: "jobs", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "sealed_records", key: []string{"tenant_id", "kind", "id"}, where: `tenant_id = ?`},
	{table: "tenant_contracts", key: []string{"tenant_id"}, where: `tenant_id = ?`},

	// The audit log and the transparency log: their triggers let these
	// rows go now that the keys are shredded and the deletion runs. The
	// audit chain's head goes first: the checkpointer signs only chains
	// with a head, so no checkpoint comes back behind the purge.
	{table: "audit_sinks", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "audit_settings", key: []string{"tenant_id"}, where: `tenant_id = ?`},
	{table: "audit_heads", key: []string{"tenant_id"}, where: `tenant_id = ?`},
	{table: "audit_checkpoints", key: []string{"tenant_id", "seq"}, where: `tenant_id = ?`},
	{table: "audit_log", key: []string{"tenant_id", "seq"}, where: `tenant_id = ?`},
	{table: "audit_anchors", key: []string{"tenant_id"}, where: `tenant_id = ?`},
	{table: "tlog_hooks", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "tlog_checkpoints", key: []string{"tenant_id", "size"}, where: `tenant_id = ?`},
	{table: "tlog_leaves", key: []string{"tenant_id", "idx"}, where: `tenant_id = ?`},
	{table: "tlog_nodes", key: []string{"tenant_id", "level", "idx"}, where: `tenant_id = ?`},
	{table: "tlog_heads", key: []string{"tenant_id"}, where: `tenant_id = ?`},

	// Identity: the accounts' children, the accounts, the keys, the tenant.
	{table: "signin_log", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "invitations", key: []string{"id"}, where: `tenant_id = ?`},
	{table: "sessions", key: []string{"id"}, where: `account_id IN ` + tenantAccounts},
	{table: "api_tokens", key: []string{"id"}, where: `account_id IN ` + tenantAccounts},
	{table: "password_resets", key: []string{"token_hash"}, where: `account_id IN ` + tenantAccounts},
	{table: "mfa_factors", key: []string{"id"}, where: `account_id IN ` + tenantAccounts},
	{table: "passkey_handles", key: []string{"account_id"}, where: `account_id IN ` + tenantAccounts},
	{table: "accounts", key: []string{"id"}, where: `realm = 'tenant' AND tenant_id = ?`},
	// The keys service deletes these when it shreds; any left go too.
	{table: "data_keys", key: []string{"tenant_id", "version"}, where: `tenant_id = ?`},
	{table: "tenant_domains", key: []string{"domain"}, where: `tenant_id = ?`},
	{table: "tenants", key: []string{"id"}, where: `id = ?`},
}

// keptTables name a deleted tenant and keep its rows: the deletion itself
// (with its certificate), the tombstone that stops new keys, and the
// provider's own sealed records of government requests about it.
var keptTables = map[string]bool{
	"tenant_deletions": true,
	"shredded_tenants": true,
	"legal_requests":   true,
}

// PurgeTenant deletes one batch of the tenant's rows: at most limit rows
// of the first table in purgeOrder that still has some, in one
// transaction with the deletion's counts, so the counts stay exact
// whatever crashes between batches. Once no step of purgeOrder finds
// anything, it sweeps by tenant_id every table of the live schema that
// has that column: rows that the way through a parent's index did not
// reach go then, and a table that purgeOrder does not know and that holds
// rows of the tenant fails the purge, rather than let a certificate say
// the tenant is gone.
//
// It runs only for a deletion that is running and a tenant whose keys are
// shredded, and never for the service's own tenant. For a deletion that
// is done it does nothing and reports done.
func (s deletionStore) PurgeTenant(ctx context.Context, tenant ids.TenantID, limit int) (bool, error) {
	if tenant == ids.ServiceTenant || !ids.Valid(string(tenant)) {
		return false, errs.E(errs.Invalid, "That tenant cannot be purged.")
	}
	if limit <= 0 {
		return false, fmt.Errorf("purge tenant %s: the batch size must be positive, not %d", tenant, limit)
	}
	done := false
	err := s.InTx(ctx, func(tx *Tx) error {
		done = false
		q := `SELECT state, counts FROM tenant_deletions WHERE tenant_id = ?`
		if tx.dialect == Postgres {
			q += ` FOR UPDATE` // one purge of a tenant at a time: the counts are read, added to, written
		}
		var state, raw string
		err := tx.QueryRow(ctx, q, string(tenant)).Scan(&state, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "The tenant has no deletion.")
		}
		if err != nil {
			return err
		}
		switch state {
		case provider.DeletionDone:
			done = true
			return nil
		case provider.DeletionRunning:
		default:
			return errs.E(errs.Conflict, "The tenant's deletion is %s, not running: nothing of it is deleted yet.", state)
		}
		if shredded, err := isShredded(tx.QueryRow(ctx, shreddedQuery, string(tenant))); err != nil {
			return err
		} else if !shredded {
			return errs.E(errs.Conflict, "The tenant's keys are not shredded yet: its rows are deleted only after its keys.")
		}
		counts := map[string]int64{}
		if err := json.Unmarshal([]byte(raw), &counts); err != nil {
			return fmt.Errorf("deletion of %s: counts: %w", tenant, err)
		}
		if counts == nil {
			counts = map[string]int64{}
		}
		record := func(table string, n int64) error {
			counts[table] += n
			b, err := json.Marshal(counts)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE tenant_deletions SET counts = ? WHERE tenant_id = ?`, string(b), string(tenant))
			return err
		}
		for _, st := range purgeOrder {
			n, err := tx.purgeBatch(ctx, st, tenant, limit)
			if err != nil {
				return err
			}
			if n > 0 {
				return record(st.table, n)
			}
		}
		tables, err := tx.tenantTables(ctx)
		if err != nil {
			return err
		}
		for _, table := range tables {
			if keptTables[table] {
				continue
			}
			st, known := purgeStepOf(table)
			if !known {
				rows, err := tx.queryOnce(ctx, `SELECT 1 FROM `+table+` WHERE tenant_id = ? LIMIT 1`, string(tenant))
				if err != nil {
					return err
				}
				found := rows.Next()
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				if found {
					return fmt.Errorf("purge tenant %s: table %s holds rows of it but is not in the store's purge order", tenant, table)
				}
				continue
			}
			st.where, st.order = `tenant_id = ?`, ""
			n, err := tx.purgeBatch(ctx, st, tenant, limit)
			if err != nil {
				return err
			}
			if n > 0 {
				return record(table, n)
			}
		}
		done = true
		return nil
	})
	return done, err
}

// purgeBatch deletes at most limit rows of st's table that st selects.
func (tx *Tx) purgeBatch(ctx context.Context, st purgeStep, tenant ids.TenantID, limit int) (int64, error) {
	where := strings.ReplaceAll(st.where, "{limit}", strconv.Itoa(limit))
	sel := where
	if st.order != "" {
		sel += " ORDER BY " + st.order
	}
	sel += " LIMIT " + strconv.Itoa(limit)
	// SQLite batches by rowid; PostgreSQL has none, and a ctid can move
	// under a concurrent update, so it batches by the primary key.
	key := "rowid"
	if tx.dialect == Postgres {
		key = strings.Join(st.key, ", ")
	}
	target := key
	if strings.Contains(key, ",") {
		target = "(" + key + ")"
	}
	q := `DELETE FROM ` + st.table + ` WHERE ` + target + ` IN (SELECT ` + key + ` FROM ` + st.table + ` WHERE ` + sel + `)`
	args := make([]any, strings.Count(where, "?"))
	for i := range args {
		args[i] = string(tenant)
	}
	// Unprepared: these run only while a tenant is deleted, and would
	// take the statement cache's room from the queries that run always.
	n, err := tx.retExec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", st.table, err)
	}
	return n, nil
}

// purgeStepOf returns the first step of table in purgeOrder.
func purgeStepOf(table string) (purgeStep, bool) {
	for _, st := range purgeOrder {
		if st.table == table {
			return st, true
		}
	}
	return purgeStep{}, false
}

// tenantTables lists the tables of the live schema with a tenant_id column.
func (tx *Tx) tenantTables(ctx context.Context) ([]string, error) {
	q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name = 'tenant_id' ORDER BY m.name`
	if tx.dialect == Postgres {
		q = `SELECT c.table_name FROM information_schema.columns c
			JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
			ORDER BY c.table_name`
	}
	rows, err := tx.queryOnce(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if !plainIdent(name) {
			return nil, fmt.Errorf("purge: unexpected table name %q", name)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// plainIdent reports whether s is a lower-case SQL identifier that needs
// no quoting.
func plainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Compact makes the deleted rows unrecoverable from the database's files
// as far as the engine allows. SQLite (secure_delete is on, so the freed
// pages are zeroed in the file) checkpoints the WAL into the file and
// truncates it. PostgreSQL vacuums the purged tables, outside any
// transaction as VACUUM must run: the dead tuples' space is reclaimed for
// reuse. Neither reaches copies outside the database's files (backups,
// PostgreSQL's archived WAL): there the shredded keys are what protect.
func (s deletionStore) Compact(ctx context.Context) error {
	if s.dialect == SQLite {
		return Retention(s.DB).Compact(ctx)
	}
	seen := map[string]bool{}
	var tables []string
	for _, st := range purgeOrder {
		if !seen[st.table] {
			seen[st.table] = true
			tables = append(tables, st.table)
		}
	}
	if _, err := s.sql.ExecContext(ctx, `VACUUM `+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}
