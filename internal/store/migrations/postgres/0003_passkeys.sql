-- WebAuthn user handles: one random, stable handle per account that has (or
-- began registering) a passkey. A discoverable sign-in names the account by
-- it; it is never the email address or the account id.
CREATE TABLE passkey_handles (
    account_id TEXT   PRIMARY KEY REFERENCES accounts (id),
    handle     BYTEA  NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Passkey ceremonies between begin and finish: the challenge and what the
-- ceremony is for, sealed and bound to the ceremony id. Taken (deleted) at
-- finish, so that each is used at most once; expired rows are swept when new
-- ones are added.
CREATE TABLE passkey_ceremonies (
    id         TEXT   PRIMARY KEY,
    state      BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);
