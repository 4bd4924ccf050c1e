package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
)

// Jobs adapts db to the job runner's Store.
func Jobs(db *DB) jobs.Store { return jobStore{db} }

type jobStore struct{ *DB }

var _ jobs.Store = jobStore{}

const jobCols = `id, tenant_id, kind, state, done, total, cursor, params, result, error, subject, created_by, created_at, updated_at, finished_at, attempts, owner, lease_until`

func scanJob(sc interface{ Scan(...any) error }) (jobs.Job, error) {
	var j jobs.Job
	var tenant, by string
	var created, updated, lease int64
	var finished sql.NullInt64
	err := sc.Scan(&j.ID, &tenant, &j.Kind, &j.State, &j.Done, &j.Total, &j.Cursor, &j.Params, &j.Result, &j.Error, &j.Subject, &by,
		&created, &updated, &finished, &j.Attempts, &j.Owner, &lease)
	if err != nil {
		return j, err
	}
	j.Tenant, j.CreatedBy = ids.TenantID(tenant), ids.UserID(by)
	j.Created, j.Updated, j.Lease = fromNS(created), fromNS(updated), fromNS(lease)
	if finished.Valid {
		j.Finished = fromNS(finished.Int64)
	}
	return j, nil
}

func (s jobStore) InsertJob(ctx context.Context, j jobs.Job) error {
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO jobs (`+jobCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			j.ID, string(j.Tenant), j.Kind, j.State, j.Done, j.Total, j.Cursor, j.Params, j.Result, j.Error, j.Subject, string(j.CreatedBy),
			ns(j.Created), ns(j.Updated), nullNS(j.Finished), j.Attempts, j.Owner, ns(j.Lease))
		return conflict(err, "That job exists already.")
	})
}

func (s jobStore) Job(ctx context.Context, id string) (jobs.Job, error) {
	j, err := scanJob(s.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	return j, err
}

func (s jobStore) Jobs(ctx context.Context, tenant ids.TenantID, kind string, limit int) ([]jobs.Job, error) {
	q := `SELECT ` + jobCols + ` FROM jobs WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?`
	args := []any{string(tenant), limit}
	if kind != "" {
		q = `SELECT ` + jobCols + ` FROM jobs WHERE tenant_id = ? AND kind = ? ORDER BY created_at DESC LIMIT ?`
		args = []any{string(tenant), kind, limit}
	}
	rows, err := s.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jobs.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (s jobStore) ClaimJob(ctx context.Context, kinds []string, owner string, now, lease time.Time) (jobs.Job, bool, error) {
	if len(kinds) == 0 {
		return jobs.Job{}, false, nil
	}
	var j jobs.Job
	found := false
	err := s.InTx(ctx, func(tx *Tx) error {
		args := []any{jobs.Queued, jobs.Running, ns(now)}
		for _, k := range kinds {
			args = append(args, k)
		}
		q := `SELECT ` + jobCols + ` FROM jobs WHERE (state = ? OR (state = ? AND lease_until < ?)) AND kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)
			ORDER BY created_at LIMIT 1`
		if tx.Dialect() == Postgres {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		rows, err := tx.queryOnce(ctx, q, args...)
		if err != nil {
			return err
		}
		if rows.Next() {
			j, err = scanJob(rows)
			found = err == nil
		}
		rows.Close()
		if err != nil || !found {
			return errors.Join(err, rows.Err())
		}
		j.State, j.Owner, j.Lease, j.Attempts, j.Updated = jobs.Running, owner, lease, j.Attempts+1, now
		_, err = tx.Exec(ctx, `UPDATE jobs SET state = ?, owner = ?, lease_until = ?, attempts = ?, updated_at = ? WHERE id = ?`,
			j.State, owner, ns(lease), j.Attempts, ns(now), j.ID)
		return err
	})
	return j, found, err
}

func (s jobStore) SaveJob(ctx context.Context, j jobs.Job, owner string) (bool, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE jobs SET state = ?, done = ?, total = ?, cursor = ?, result = ?, error = ?, updated_at = ?, finished_at = ?, lease_until = ?
			WHERE id = ? AND owner = ? AND state = ?`,
			j.State, j.Done, j.Total, j.Cursor, j.Result, j.Error, ns(j.Updated), nullNS(j.Finished), ns(j.Lease), j.ID, owner, jobs.Running)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

func (s jobStore) CancelJob(ctx context.Context, id string, at time.Time) (bool, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE jobs SET state = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)`,
			jobs.Cancelled, ns(at), ns(at), id, jobs.Queued, jobs.Running)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}
