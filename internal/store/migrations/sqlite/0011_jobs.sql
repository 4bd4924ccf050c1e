-- Background jobs (retention deletion, exports, …). Parameters and cursors
-- are metadata; a job whose parameters are content seals them itself.
CREATE TABLE jobs (
    id          TEXT    PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    done        BIGINT  NOT NULL,
    total       BIGINT  NOT NULL,
    cursor      TEXT    NOT NULL,
    params      BLOB,
    result      TEXT    NOT NULL,
    error       TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    attempts    INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    lease_until BIGINT  NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (state, created_at);
CREATE INDEX jobs_tenant ON jobs (tenant_id, kind, created_at);
