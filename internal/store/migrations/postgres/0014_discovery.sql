-- eDiscovery and data exports. Everything that is content — a case's name,
-- a search's query, an export's manifest (file names) — is sealed with the
-- tenant's keys; the rest is metadata (ids, counts, times).

-- Cases: only their members (compliance officers) see them.
CREATE TABLE discovery_cases (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    name        BYTEA   NOT NULL,
    state       TEXT   NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX discovery_cases_tenant ON discovery_cases (tenant_id, created_at);

CREATE TABLE discovery_case_members (
    case_id    TEXT   NOT NULL REFERENCES discovery_cases (id),
    account_id TEXT   NOT NULL,
    added_by   TEXT   NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (case_id, account_id)
);
CREATE INDEX discovery_case_members_account ON discovery_case_members (account_id);

-- Searches of a case; query is the sealed query (keywords are content).
CREATE TABLE discovery_searches (
    id          TEXT    PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    case_id     TEXT    NOT NULL REFERENCES discovery_cases (id),
    query       BYTEA    NOT NULL,
    job_id      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    state       TEXT    NOT NULL,
    scanned     BIGINT  NOT NULL,
    hits        BIGINT  NOT NULL,
    hits_sha256 TEXT    NOT NULL,
    truncated   INTEGER NOT NULL
);
CREATE INDEX discovery_searches_case ON discovery_searches (case_id, created_at);

-- What a search found, and a case's review set: item ids (messages).
CREATE TABLE discovery_hits (
    search_id  TEXT   NOT NULL REFERENCES discovery_searches (id),
    item_id    TEXT   NOT NULL,
    channel_id TEXT   NOT NULL,
    PRIMARY KEY (search_id, item_id)
);

CREATE TABLE discovery_review (
    case_id    TEXT   NOT NULL REFERENCES discovery_cases (id),
    item_id    TEXT   NOT NULL,
    channel_id TEXT   NOT NULL,
    added_by   TEXT   NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (case_id, item_id)
);

-- Export packages: a case's, a person's own data, a person's data for an
-- admin, the whole tenant. The package is a sequence of sealed part blobs.
CREATE TABLE discovery_exports (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    subject     TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    job_id      TEXT   NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    state       TEXT   NOT NULL,
    parts       INTEGER NOT NULL,
    bytes       BIGINT NOT NULL,
    sha256      TEXT   NOT NULL,
    messages    BIGINT NOT NULL,
    files       BIGINT NOT NULL
);
CREATE INDEX discovery_exports_subject ON discovery_exports (tenant_id, kind, subject, created_at);

-- The pieces of a package being built: 'part' rows are the package's tar
-- parts in order (with the package's running SHA-256 state and the sealed
-- manifest lines of the files in the part); other kinds are staged chunks of
-- one big file (messages.jsonl, audit.jsonl) joined in the last part.
CREATE TABLE discovery_export_parts (
    export_id  TEXT   NOT NULL REFERENCES discovery_exports (id),
    kind       TEXT   NOT NULL,
    n          INTEGER NOT NULL,
    bytes      BIGINT NOT NULL,
    manifest   BYTEA,
    hash_state BYTEA,
    PRIMARY KEY (export_id, kind, n)
);

-- Exports read a person's messages and a tenant's messages in id order.
CREATE INDEX discovery_messages_author ON messages (tenant_id, author_id, id);
CREATE INDEX discovery_messages_tenant ON messages (tenant_id, id);
