-- Meetings. The join code is kept as its SHA-256 (to find the meeting) and
-- sealed (to show the link again to those allowed); never in plaintext.
CREATE TABLE meetings (
    id           TEXT   PRIMARY KEY,
    tenant_id    TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    organizer_id TEXT   NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    channel_id   TEXT   NOT NULL DEFAULT '',
    chat_id      TEXT   NOT NULL DEFAULT '',
    options      TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    code_hash    BLOB   NOT NULL UNIQUE,
    code_sealed  BLOB   NOT NULL
);
CREATE INDEX meetings_organizer ON meetings (tenant_id, organizer_id, ends_at);

-- The people invited: accounts of the tenant, or email addresses.
CREATE TABLE meeting_invitees (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    account_id TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL,
    PRIMARY KEY (meeting_id, account_id, email)
);
CREATE INDEX meeting_invitees_account ON meeting_invitees (account_id);
