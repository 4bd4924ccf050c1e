-- The access-transparency log: one Merkle tree (RFC 6962) per tenant.
-- Leaves are the entries' exact bytes (metadata only); nodes are the hashes
-- of the perfect subtrees; every head is signed as a checkpoint.
CREATE TABLE tlog_leaves (
    tenant_id TEXT    NOT NULL,
    idx       BIGINT  NOT NULL,
    at        BIGINT  NOT NULL,
    kind      TEXT    NOT NULL,
    data      BLOB    NOT NULL,
    leaf_hash BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, idx)
);
CREATE TRIGGER tlog_leaves_no_update BEFORE UPDATE ON tlog_leaves
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;
CREATE TRIGGER tlog_leaves_no_delete BEFORE DELETE ON tlog_leaves
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;

CREATE TABLE tlog_nodes (
    tenant_id TEXT    NOT NULL,
    level     INTEGER NOT NULL,
    idx       BIGINT  NOT NULL,
    hash      BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, level, idx)
);

-- Each tenant's newest head; its row is the log's lock.
CREATE TABLE tlog_heads (
    tenant_id  TEXT   PRIMARY KEY,
    size       BIGINT NOT NULL,
    root       BLOB   NOT NULL,
    checkpoint TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every checkpoint signed, so that proofs between any two can be asked for.
CREATE TABLE tlog_checkpoints (
    tenant_id TEXT   NOT NULL,
    size      BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    note      TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, size)
);
