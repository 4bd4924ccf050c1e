-- Teams, with owners and members.
CREATE TABLE teams (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE INDEX teams_tenant ON teams (tenant_id);

CREATE TABLE team_members (
    team_id    TEXT   NOT NULL REFERENCES teams (id),
    account_id TEXT   NOT NULL,
    role       TEXT   NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (team_id, account_id)
);
CREATE INDEX team_members_account ON team_members (account_id);

-- Channels of teams (standard, private) and chats (team_id empty).
-- last_seq numbers the channel's events; its row is the channel's lock.
CREATE TABLE channels (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    team_id     TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    archived_at BIGINT,
    last_seq    BIGINT NOT NULL,
    chat_key    TEXT
);
CREATE INDEX channels_team ON channels (team_id);
CREATE UNIQUE INDEX channels_chat_key ON channels (tenant_id, chat_key);

-- Members of private channels and chats, and everyone's read position.
CREATE TABLE channel_members (
    channel_id    TEXT   NOT NULL REFERENCES channels (id),
    account_id    TEXT   NOT NULL,
    member        INTEGER NOT NULL,
    added_at      BIGINT NOT NULL,
    last_read_seq BIGINT NOT NULL,
    PRIMARY KEY (channel_id, account_id)
);
CREATE INDEX channel_members_account ON channel_members (account_id);

-- Messages. The body is sealed with the tenant's keys; edits keep the
-- earlier bodies in message_versions.
CREATE TABLE messages (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    channel_id  TEXT   NOT NULL REFERENCES channels (id),
    seq         BIGINT NOT NULL,
    thread_id   TEXT   NOT NULL,
    author_id   TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    edited_at   BIGINT,
    deleted_at  BIGINT,
    version     INTEGER NOT NULL,
    body        BLOB     NOT NULL
);
CREATE UNIQUE INDEX messages_channel_seq ON messages (channel_id, seq);
CREATE INDEX messages_thread ON messages (thread_id);

CREATE TABLE message_versions (
    message_id TEXT    NOT NULL REFERENCES messages (id),
    version    INTEGER NOT NULL,
    body       BLOB      NOT NULL,
    replaced_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, version)
);

CREATE TABLE reactions (
    message_id TEXT   NOT NULL REFERENCES messages (id),
    account_id TEXT   NOT NULL,
    emoji      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, account_id, emoji)
);

-- Each channel's ordered event log: what a client that reconnects replays
-- from its last sequence number. The payload is sealed.
CREATE TABLE channel_events (
    channel_id TEXT   NOT NULL REFERENCES channels (id),
    seq        BIGINT NOT NULL,
    tenant_id  TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    payload    BLOB     NOT NULL,
    PRIMARY KEY (channel_id, seq)
);
