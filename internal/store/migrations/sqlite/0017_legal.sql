-- The law-enforcement request ledger. legal_requests holds each request's
-- metadata (what the transparency report counts); what identifies people
-- (agency contact, accounts named) is in detail, sealed with the service's
-- key. legal_ledger is the hash chain of every step, payloads sealed.
CREATE TABLE legal_requests (
    id          TEXT    PRIMARY KEY,
    received_at BIGINT  NOT NULL,
    country     TEXT    NOT NULL,
    instrument  TEXT    NOT NULL,
    compulsory  INTEGER NOT NULL,
    customer    TEXT    NOT NULL,
    tenant_id   TEXT    NOT NULL,
    accounts    INTEGER NOT NULL,
    asked       TEXT    NOT NULL,
    approved    TEXT    NOT NULL,
    disclosed   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    gag_until   BIGINT,
    notified_at BIGINT,
    notify_due  INTEGER NOT NULL,
    updated_at  BIGINT  NOT NULL,
    detail      BLOB    NOT NULL
);
CREATE INDEX legal_requests_received ON legal_requests (received_at);

CREATE TABLE legal_ledger (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    request_id TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    sealed     BLOB   NOT NULL,
    prev_hash  BLOB   NOT NULL,
    hash       BLOB   NOT NULL
);
CREATE INDEX legal_ledger_request ON legal_ledger (request_id);

-- The ledger's head; its one row is the chain's lock.
CREATE TABLE legal_ledger_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT  NOT NULL,
    hash BLOB    NOT NULL
);
INSERT INTO legal_ledger_head (id, seq, hash) VALUES (1, 0, X'');
