-- Audit search, retention and streaming to SIEMs.

-- Searches filter one tenant's log by actor, action or target and page
-- newest first by seq; time ranges use audit_log_at (0001).
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, seq);
CREATE INDEX audit_log_action ON audit_log (tenant_id, action, seq);
CREATE INDEX audit_log_target ON audit_log (tenant_id, target, seq);

-- Each tenant's audit settings; no row: the defaults (one year).
CREATE TABLE audit_settings (
    tenant_id       TEXT    PRIMARY KEY,
    retention_years INTEGER NOT NULL,
    updated_by      TEXT    NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- Each tenant's prune anchor: the last record removed by retention, its hash
-- and a signed note of both. Verification starts from it. It only moves
-- forward and is never removed.
CREATE TABLE audit_anchors (
    tenant_id TEXT    PRIMARY KEY,
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL,
    at        BIGINT  NOT NULL,
    note      TEXT    NOT NULL
);
CREATE TRIGGER audit_anchors_forward BEFORE UPDATE ON audit_anchors
WHEN NEW.seq < OLD.seq OR NEW.tenant_id <> OLD.tenant_id
BEGIN SELECT RAISE(ABORT, 'an audit prune anchor only moves forward'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'an audit prune anchor is never removed'); END;

-- Records may now be deleted, but only at or below their tenant's anchor.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > COALESCE((SELECT seq FROM audit_anchors WHERE tenant_id = OLD.tenant_id), 0)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Where each tenant's records are streamed (signed webhooks, syslog over
-- TLS). The webhook secret is sealed with the tenant's key. cursor is the
-- last record delivered; a node delivers a sink while it holds its lease.
CREATE TABLE audit_sinks (
    id            TEXT    PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    endpoint      TEXT    NOT NULL,
    ca_pem        TEXT    NOT NULL,
    secret        BLOB,
    cursor        INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    delivered_at  BIGINT  NOT NULL,
    failures      INTEGER NOT NULL,
    last_error    TEXT    NOT NULL,
    next_attempt  BIGINT  NOT NULL,
    lease_owner   TEXT    NOT NULL,
    lease_until   BIGINT  NOT NULL
);
CREATE INDEX audit_sinks_tenant ON audit_sinks (tenant_id, created_at);
