-- Lockbox requests: an operator's request for access to named resources of
-- one tenant, the tenant's decision, and the grant. Metadata only; the
-- reason is the operator's words for the tenant, not tenant content.
CREATE TABLE lockbox_requests (
    id            TEXT    PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    operator_id   TEXT    NOT NULL,
    resources     TEXT    NOT NULL,
    justification TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    ticket        TEXT    NOT NULL,
    duration_ns   BIGINT  NOT NULL,
    state         TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    decided_by    TEXT    NOT NULL,
    decided_at    BIGINT,
    grant_ends    BIGINT,
    ended_at      BIGINT,
    ended_by      TEXT    NOT NULL,
    accesses      INTEGER NOT NULL
);
CREATE INDEX lockbox_requests_tenant ON lockbox_requests (tenant_id, created_at);
CREATE INDEX lockbox_requests_operator ON lockbox_requests (operator_id, created_at);
CREATE INDEX lockbox_requests_state ON lockbox_requests (state);
