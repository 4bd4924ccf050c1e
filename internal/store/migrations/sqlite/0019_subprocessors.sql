-- The subprocessor registry: every announced change (addition, change of
-- terms, removal) with when it was announced and when it takes effect; the
-- list in force at any time is computed from them. Tenants' objections to
-- changes, and each tenant's webhook for notices (its secret sealed with
-- the tenant's keys).
CREATE TABLE subprocessor_changes (
    id              TEXT    PRIMARY KEY,
    subprocessor_id TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    location        TEXT    NOT NULL,
    categories      TEXT    NOT NULL,
    customer_data   INTEGER NOT NULL,
    announced_at    BIGINT  NOT NULL,
    effective_at    BIGINT  NOT NULL,
    created_by      TEXT    NOT NULL
);
CREATE INDEX subprocessor_changes_sub ON subprocessor_changes (subprocessor_id, announced_at);

-- One row that writers lock to change the registry one at a time.
CREATE TABLE subprocessor_registry (
    id      INTEGER PRIMARY KEY,
    version BIGINT  NOT NULL
);
INSERT INTO subprocessor_registry (id, version) VALUES (1, 0);

CREATE TABLE subprocessor_objections (
    id         TEXT   PRIMARY KEY,
    tenant_id  TEXT   NOT NULL,
    change_id  TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    reason     TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    UNIQUE (tenant_id, change_id)
);

CREATE TABLE subprocessor_webhooks (
    tenant_id  TEXT   PRIMARY KEY,
    url        TEXT   NOT NULL,
    secret     BLOB   NOT NULL,
    created_at BIGINT NOT NULL
);
