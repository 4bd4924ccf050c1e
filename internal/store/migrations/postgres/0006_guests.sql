-- Guests have a sponsor (who invited them) and an expiry the sponsor renews.
ALTER TABLE accounts ADD COLUMN sponsor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN expires_at BIGINT;
