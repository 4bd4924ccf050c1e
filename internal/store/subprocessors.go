package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"

	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
)

// Subprocessors adapts db to the subprocessor registry's store.
func Subprocessors(db *DB) provider.SubprocessorStore { return subprocessorStore{db} }

// SubprocessorCustomers adapts db to the list of tenants (and their admins)
// told of subprocessor changes.
func SubprocessorCustomers(db *DB) provider.Customers { return subprocessorStore{db} }

type subprocessorStore struct{ *DB }

var (
	_ provider.SubprocessorTx    = (*Tx)(nil)
	_ provider.SubprocessorStore = subprocessorStore{}
	_ provider.Customers         = subprocessorStore{}
)

func (s subprocessorStore) UpdateSubprocessors(ctx context.Context, fn func(tx provider.SubprocessorTx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const (
	subprocessorChangeCols    = `id, subprocessor_id, kind, name, purpose, location, categories, customer_data, announced_at, effective_at, created_by`
	selectSubprocessorChanges = `SELECT ` + subprocessorChangeCols + ` FROM subprocessor_changes ORDER BY announced_at, id`
)

func scanSubprocessorChanges(rows *sql.Rows) ([]provider.Change, error) {
	defer rows.Close()
	out := []provider.Change{}
	for rows.Next() {
		var c provider.Change
		var cats, by string
		var cd int
		var announced, effective int64
		if err := rows.Scan(&c.ID, &c.Subprocessor, &c.Kind, &c.Name, &c.Purpose, &c.Location, &cats, &cd, &announced, &effective, &by); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(cats), &c.Categories); err != nil {
			return nil, err
		}
		c.CustomerData, c.Announced, c.Effective, c.By = cd == 1, fromNS(announced), fromNS(effective), ids.UserID(by)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (tx *Tx) LockSubprocessorChanges(ctx context.Context) ([]provider.Change, error) {
	if _, err := tx.Exec(ctx, `UPDATE subprocessor_registry SET version = version + 1 WHERE id = 1`); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, selectSubprocessorChanges)
	if err != nil {
		return nil, err
	}
	return scanSubprocessorChanges(rows)
}

func (tx *Tx) InsertSubprocessorChange(ctx context.Context, c provider.Change) error {
	cats := c.Categories
	if cats == nil {
		cats = []string{}
	}
	b, _ := json.Marshal(cats)
	_, err := tx.Exec(ctx, `INSERT INTO subprocessor_changes (`+subprocessorChangeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Subprocessor, c.Kind, c.Name, c.Purpose, c.Location, string(b), boolInt(c.CustomerData), ns(c.Announced), ns(c.Effective), string(c.By))
	return err
}

func (tx *Tx) PutObjection(ctx context.Context, o provider.Objection) error {
	_, err := tx.Exec(ctx, `INSERT INTO subprocessor_objections (id, tenant_id, change_id, account_id, reason, at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, change_id) DO UPDATE SET id = excluded.id, account_id = excluded.account_id, reason = excluded.reason, at = excluded.at`,
		o.ID, string(o.Tenant), o.Change, string(o.Account), o.Reason, ns(o.At))
	return err
}

func (tx *Tx) PutSubprocessorWebhook(ctx context.Context, w provider.Webhook) error {
	_, err := tx.Exec(ctx, `INSERT INTO subprocessor_webhooks (tenant_id, url, secret, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at`,
		string(w.Tenant), w.URL, w.Secret, ns(w.Created))
	return err
}

func (tx *Tx) DeleteSubprocessorWebhook(ctx context.Context, tenant ids.TenantID) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM subprocessor_webhooks WHERE tenant_id = ?`, string(tenant))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (s subprocessorStore) SubprocessorChanges(ctx context.Context) ([]provider.Change, error) {
	rows, err := s.Query(ctx, selectSubprocessorChanges)
	if err != nil {
		return nil, err
	}
	return scanSubprocessorChanges(rows)
}

func (s subprocessorStore) Objections(ctx context.Context, tenant ids.TenantID) ([]provider.Objection, error) {
	q, args := `SELECT id, tenant_id, change_id, account_id, reason, at FROM subprocessor_objections`, []any{}
	if tenant != "" {
		q, args = q+` WHERE tenant_id = ?`, append(args, string(tenant))
	}
	rows, err := s.queryOnce(ctx, q+` ORDER BY at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []provider.Objection{}
	for rows.Next() {
		var o provider.Objection
		var t, acct string
		var at int64
		if err := rows.Scan(&o.ID, &t, &o.Change, &acct, &o.Reason, &at); err != nil {
			return nil, err
		}
		o.Tenant, o.Account, o.At = ids.TenantID(t), ids.UserID(acct), fromNS(at)
		out = append(out, o)
	}
	return out, rows.Err()
}

func (s subprocessorStore) SubprocessorWebhook(ctx context.Context, tenant ids.TenantID) (provider.Webhook, bool, error) {
	w := provider.Webhook{Tenant: tenant}
	var created int64
	err := s.QueryRow(ctx, `SELECT url, secret, created_at FROM subprocessor_webhooks WHERE tenant_id = ?`, string(tenant)).Scan(&w.URL, &w.Secret, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return provider.Webhook{}, false, nil
	}
	if err != nil {
		return provider.Webhook{}, false, err
	}
	w.Created = fromNS(created)
	return w, true, nil
}

func (s subprocessorStore) CustomerTenants(ctx context.Context) ([]ids.TenantID, error) {
	ts, err := s.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ids.TenantID, 0, len(ts))
	for _, t := range ts {
		if t.ID != ids.ServiceTenant {
			out = append(out, t.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s subprocessorStore) AdminEmails(ctx context.Context, tenant ids.TenantID) ([]string, error) {
	accounts, err := s.Accounts(ctx, identity.TenantRealm, tenant)
	if err != nil {
		return nil, err
	}
	var to []string
	for _, a := range accounts {
		if a.State == identity.AccountActive && a.Kind == principal.Member && slices.Contains(a.Roles, principal.TenantAdmin) {
			to = append(to, a.Email)
		}
	}
	return to, nil
}
