-- Notifications of mentions, one per person mentioned.
CREATE TABLE notifications (
    id         TEXT   PRIMARY KEY,
    tenant_id  TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    channel_id TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    actor_id   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_account ON notifications (account_id, created_at);
