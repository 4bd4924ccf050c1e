-- Wrapped per-tenant data keys. Only ciphertext of keys lives here; the
-- key-encryption keys live with the KeyProvider.
CREATE TABLE data_keys (
    tenant_id  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    kek_id     TEXT    NOT NULL,
    wrapped    BLOB    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- Small sealed documents (settings, drafts, …): the body is always ciphertext.
CREATE TABLE sealed_records (
    tenant_id  TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    body       BLOB   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);

-- The audit log: append-only and hash-chained per tenant.
CREATE TABLE audit_log (
    tenant_id  TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    at         BIGINT  NOT NULL,
    actor_id   TEXT    NOT NULL,
    actor_kind TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    details    TEXT    NOT NULL,
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- The newest record of each tenant's chain; its row is the chain's lock.
CREATE TABLE audit_heads (
    tenant_id TEXT    PRIMARY KEY,
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL
);

-- Signed checkpoints of each chain (signed notes).
CREATE TABLE audit_checkpoints (
    tenant_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    at        BIGINT  NOT NULL,
    note      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- One-time links that let the first operator enrol. Only hashes are kept.
CREATE TABLE setup_tokens (
    token_hash TEXT   PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- Tenants whose keys were destroyed: no data key may ever be added again.
CREATE TABLE shredded_tenants (
    tenant_id   TEXT   PRIMARY KEY,
    shredded_at BIGINT NOT NULL
);
