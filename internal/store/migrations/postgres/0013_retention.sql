-- Retention policies: what to keep and what to delete, and for how long
-- (days from an item's creation). scope is JSON metadata: whole tenant, or
-- lists of team, chat and account ids.
CREATE TABLE retention_policies (
    id         TEXT    PRIMARY KEY,
    tenant_id  TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    days       INTEGER NOT NULL,
    scope      TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX retention_policies_tenant ON retention_policies (tenant_id);

-- Legal holds. scope is JSON metadata (custodians, locations, senders,
-- dates); the keywords of its query are content and sealed in query.
CREATE TABLE legal_holds (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    query       BYTEA,
    keywords    INTEGER NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    released_by TEXT   NOT NULL,
    released_at BIGINT
);
CREATE INDEX legal_holds_tenant ON legal_holds (tenant_id);

-- Blobs whose rows a deletion batch removed, written in the batch's
-- transaction and removed once the blob is gone: a crash between the two
-- leaves the work to finish, never an orphaned blob.
CREATE TABLE retention_pending_blobs (
    tenant_id TEXT   NOT NULL,
    blob_key  TEXT   NOT NULL,
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, blob_key)
);

-- Which message a channel event is about, so that deleting a message
-- deletes every event that carries its content (sent, edited, reacted).
ALTER TABLE channel_events ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
CREATE INDEX channel_events_message ON channel_events (message_id);
CREATE INDEX messages_tenant ON messages (tenant_id, id);
CREATE INDEX messages_author ON messages (author_id);
CREATE INDEX notifications_message ON notifications (message_id);
CREATE INDEX meeting_recordings_tenant ON meeting_recordings (tenant_id, id);
