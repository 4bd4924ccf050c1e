-- Files attached to messages. The content is in the blob store, sealed.
CREATE TABLE attachments (
    id           TEXT   PRIMARY KEY,
    tenant_id    TEXT   NOT NULL,
    channel_id   TEXT   NOT NULL REFERENCES channels (id),
    message_id   TEXT   NOT NULL REFERENCES messages (id),
    uploader_id  TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT   NOT NULL,
    sha256       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
