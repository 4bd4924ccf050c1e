-- Tenants' webhooks on their access-transparency log: the next entry to
-- deliver and how the last attempt went. The secret is sealed.
CREATE TABLE tlog_hooks (
    id            TEXT    PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    secret        BLOB    NOT NULL,
    next_index    BIGINT  NOT NULL,
    failures      INTEGER NOT NULL,
    last_error    TEXT    NOT NULL,
    next_attempt  BIGINT  NOT NULL,
    last_delivery BIGINT,
    created_at    BIGINT  NOT NULL,
    created_by    TEXT    NOT NULL
);
CREATE INDEX tlog_hooks_tenant ON tlog_hooks (tenant_id);
CREATE INDEX tlog_hooks_due ON tlog_hooks (next_attempt);
