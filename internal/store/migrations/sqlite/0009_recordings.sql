-- Meeting recordings: one row per file (a participant's camera and
-- microphone, or a shared screen). The media is in the blob store, sealed.
CREATE TABLE meeting_recordings (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    meeting_id  TEXT   NOT NULL REFERENCES meetings (id),
    name        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    bytes       BIGINT NOT NULL,
    millis      BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    blob_key    TEXT   NOT NULL,
    started_by  TEXT   NOT NULL
);
CREATE INDEX meeting_recordings_meeting ON meeting_recordings (meeting_id);
