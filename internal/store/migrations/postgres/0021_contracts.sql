-- Tenants' contracts: the end date drives the lifecycle (active → ended,
-- 90 days export-only → disabled → deleted by day 180). States are computed
-- from the end date and the clock, never stored stale.
CREATE TABLE tenant_contracts (
    tenant_id  TEXT   PRIMARY KEY,
    end_at     BIGINT,
    updated_at BIGINT NOT NULL
);
