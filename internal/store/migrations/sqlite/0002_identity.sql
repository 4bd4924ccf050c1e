-- Tenants: organisations. The identity policy (MFA requirement, session
-- lifetimes, conditional access, named locations) is one JSON document.
CREATE TABLE tenants (
    id         TEXT   PRIMARY KEY,
    slug       TEXT   NOT NULL UNIQUE,
    name       TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    policy     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- Domains tell members from outsiders; a domain belongs to one tenant.
CREATE TABLE tenant_domains (
    domain      TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL REFERENCES tenants (id),
    verified_at BIGINT
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

-- Accounts of people in a tenant (members and guests) and of operators
-- (realm 'operator', tenant_id '_service').
CREATE TABLE accounts (
    id               TEXT   PRIMARY KEY,
    realm            TEXT   NOT NULL,
    tenant_id        TEXT   NOT NULL,
    email            TEXT   NOT NULL,
    display_name     TEXT   NOT NULL,
    kind             TEXT   NOT NULL,
    roles            TEXT   NOT NULL,
    state            TEXT   NOT NULL,
    password_hash    TEXT,
    mfa_grace_until  BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (realm, tenant_id, email)
);

-- Second factors. Secrets are sealed with the tenant's keys.
CREATE TABLE mfa_factors (
    id            TEXT   PRIMARY KEY,
    account_id    TEXT   NOT NULL REFERENCES accounts (id),
    kind          TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    credential_id BLOB,
    secret        BLOB     NOT NULL,
    counter       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX mfa_factors_account ON mfa_factors (account_id);
CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (credential_id);

-- Sessions. Only the SHA-256 of the token is stored.
CREATE TABLE sessions (
    id            TEXT   PRIMARY KEY,
    token_hash    TEXT   NOT NULL UNIQUE,
    account_id    TEXT   NOT NULL REFERENCES accounts (id),
    tenant_id     TEXT   NOT NULL,
    state         TEXT   NOT NULL,
    methods       TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    idle_timeout  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    source        TEXT   NOT NULL,
    user_agent    TEXT   NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Personal access tokens for the API. Only the SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id           TEXT   PRIMARY KEY,
    secret_hash  TEXT   NOT NULL,
    account_id   TEXT   NOT NULL REFERENCES accounts (id),
    tenant_id    TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    scopes       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    last_source  TEXT   NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- Single-use links: invitations and password resets. Only hashes are kept.
CREATE TABLE invitations (
    id          TEXT   PRIMARY KEY,
    token_hash  TEXT   NOT NULL UNIQUE,
    tenant_id   TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    roles       TEXT   NOT NULL,
    invited_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE TABLE password_resets (
    token_hash TEXT   PRIMARY KEY,
    account_id TEXT   NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- Every sign-in attempt, with the policies that applied and why.
CREATE TABLE signin_log (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    account_id  TEXT   NOT NULL,
    identifier  TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    client_kind TEXT   NOT NULL,
    result      TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    policies    TEXT   NOT NULL
);
CREATE INDEX signin_log_tenant_at ON signin_log (tenant_id, at);
