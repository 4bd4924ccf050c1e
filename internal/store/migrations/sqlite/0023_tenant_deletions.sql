-- Tenants' deletions: by day 180 after the contract's end, or earlier at
-- the customer's confirmed request. Times are unix nanoseconds, 0 for none.
-- contract_end is the contract's end as it was when the deletion started
-- (the contract's row is purged with the rest). keys lists the key-encryption keys destroyed and the data key versions
-- each wrapped (ids only); counts the rows deleted per table (JSON). While
-- an accelerated request waits for its code, code_hash is the code's
-- SHA-256. Once done, the row keeps the signed certificate: it outlives
-- everything else of the tenant.
CREATE TABLE tenant_deletions (
    tenant_id    TEXT    PRIMARY KEY,
    state        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    requested_by TEXT    NOT NULL,
    requested_at BIGINT  NOT NULL,
    execute_at   BIGINT  NOT NULL,
    contract_end BIGINT  NOT NULL DEFAULT 0,
    started_at   BIGINT  NOT NULL,
    finished_at  BIGINT  NOT NULL,
    keys         TEXT    NOT NULL,
    counts       TEXT    NOT NULL,
    code_hash    BLOB,
    code_expires BIGINT  NOT NULL,
    attempts     INTEGER NOT NULL,
    certificate  BLOB,
    signature    BLOB
);

-- A deletion that has started is never forgotten: it only goes forward,
-- and once done it is the certificate.
CREATE TRIGGER tenant_deletions_kept BEFORE DELETE ON tenant_deletions
WHEN OLD.state IN ('running', 'done')
BEGIN SELECT RAISE(ABORT, 'a started tenant deletion is never removed'); END;

-- The append-only logs (the audit log, its prune anchors, the transparency
-- log) give up a tenant's rows only to its deletion: when its keys are
-- shredded and its deletion is running. The service's own log never.
-- Updates stay refused (an anchor still only moves forward), and so does
-- every other delete, except audit records at or below their anchor.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > COALESCE((SELECT seq FROM audit_anchors WHERE tenant_id = OLD.tenant_id), 0)
 AND NOT (OLD.tenant_id <> '_service'
      AND EXISTS (SELECT 1 FROM shredded_tenants WHERE tenant_id = OLD.tenant_id)
      AND EXISTS (SELECT 1 FROM tenant_deletions WHERE tenant_id = OLD.tenant_id AND state = 'running'))
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

DROP TRIGGER audit_anchors_no_delete;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
WHEN NOT (OLD.tenant_id <> '_service'
      AND EXISTS (SELECT 1 FROM shredded_tenants WHERE tenant_id = OLD.tenant_id)
      AND EXISTS (SELECT 1 FROM tenant_deletions WHERE tenant_id = OLD.tenant_id AND state = 'running'))
BEGIN SELECT RAISE(ABORT, 'an audit prune anchor is removed only with its tenant'); END;

DROP TRIGGER tlog_leaves_no_delete;
CREATE TRIGGER tlog_leaves_no_delete BEFORE DELETE ON tlog_leaves
WHEN NOT (OLD.tenant_id <> '_service'
      AND EXISTS (SELECT 1 FROM shredded_tenants WHERE tenant_id = OLD.tenant_id)
      AND EXISTS (SELECT 1 FROM tenant_deletions WHERE tenant_id = OLD.tenant_id AND state = 'running'))
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;
