-- Wrapped per-tenant data keys. Only ciphertext of keys lives here; the
-- key-encryption keys live with the KeyProvider.
CREATE TABLE data_keys (
    tenant_id  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    kek_id     TEXT    NOT NULL,
    wrapped    BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- Small sealed documents (settings, drafts, …): the body is always ciphertext.
CREATE TABLE sealed_records (
    tenant_id  TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    body       BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);

-- The audit log: append-only and hash-chained per tenant.
CREATE TABLE audit_log (
    tenant_id  TEXT    NOT NULL,
    seq        BIGINT  NOT NULL,
    at         BIGINT  NOT NULL,
    actor_id   TEXT    NOT NULL,
    actor_kind TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    details    TEXT    NOT NULL,
    prev_hash  BYTEA   NOT NULL,
    hash       BYTEA   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- The newest record of each tenant's chain; its row is the chain's lock.
CREATE TABLE audit_heads (
    tenant_id TEXT   PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      BYTEA  NOT NULL
);

-- Signed checkpoints of each chain (signed notes).
CREATE TABLE audit_checkpoints (
    tenant_id TEXT   NOT NULL,
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    note      TEXT   NOT NULL,
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
