-- Communication compliance. A tenant's moderation policy (JSON: rules,
-- scopes, thresholds; metadata only).
CREATE TABLE moderation_policies (
    tenant_id  TEXT   PRIMARY KEY,
    policy     TEXT   NOT NULL,
    rules      INTEGER NOT NULL,
    updated_by TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The review queue. Everything derived from content (a held message, a
-- report's reason, the matched spans) is in sealed, sealed with the
-- tenant's keys; info and pseudonyms are metadata (JSON).
CREATE TABLE moderation_alerts (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    channel_id  TEXT   NOT NULL,
    message_id  TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    sender_id   TEXT   NOT NULL,
    reporter_id TEXT   NOT NULL,
    target_id   TEXT   NOT NULL,
    assignee_id TEXT   NOT NULL,
    info        TEXT   NOT NULL,
    sealed      BYTEA,
    pseudonyms  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    closed_at   BIGINT,
    closed_by   TEXT   NOT NULL
);
CREATE INDEX moderation_alerts_queue ON moderation_alerts (tenant_id, status, created_at);
CREATE INDEX moderation_alerts_message ON moderation_alerts (message_id);
CREATE INDEX moderation_alerts_target ON moderation_alerts (tenant_id, target_id, kind, status);

-- Notices reviewers sent to senders, from templates (no content).
CREATE TABLE moderation_notices (
    id         TEXT   PRIMARY KEY,
    tenant_id  TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    alert_id   TEXT   NOT NULL,
    template   TEXT   NOT NULL,
    channel_id TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX moderation_notices_account ON moderation_notices (account_id, created_at);
