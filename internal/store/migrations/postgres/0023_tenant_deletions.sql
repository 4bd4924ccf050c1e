-- Tenants' deletions: by day 180 after the contract's end, or earlier at
-- the customer's confirmed request. Times are unix nanoseconds, 0 for none.
-- contract_end is the contract's end as it was when the deletion started
-- (the contract's row is purged with the rest). keys lists the key-encryption keys destroyed and the data key versions
-- each wrapped (ids only); counts the rows deleted per table (JSON). While
-- an accelerated request waits for its code, code_hash is the code's
-- SHA-256. Once done, the row keeps the signed certificate: it outlives
-- everything else of the tenant.
CREATE TABLE tenant_deletions (
    tenant_id    TEXT    PRIMARY KEY,
    state        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    requested_by TEXT    NOT NULL,
    requested_at BIGINT  NOT NULL,
    execute_at   BIGINT  NOT NULL,
    contract_end BIGINT  NOT NULL DEFAULT 0,
    started_at   BIGINT  NOT NULL,
    finished_at  BIGINT  NOT NULL,
    keys         TEXT    NOT NULL,
    counts       TEXT    NOT NULL,
    code_hash    BYTEA,
    code_expires BIGINT  NOT NULL,
    attempts     INTEGER NOT NULL,
    certificate  BYTEA,
    signature    BYTEA
);

-- A deletion that has started is never forgotten: it only goes forward,
-- and once done it is the certificate.
CREATE FUNCTION tenant_deletions_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('running', 'done') THEN
        RAISE EXCEPTION 'a started tenant deletion is never removed';
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER tenant_deletions_kept BEFORE DELETE ON tenant_deletions
    FOR EACH ROW EXECUTE FUNCTION tenant_deletions_kept();

-- The append-only logs (the audit log, its prune anchors, the transparency
-- log) give up a tenant's rows only to its deletion: when its keys are
-- shredded and its deletion is running. The service's own log never.
-- Updates stay refused (an anchor still only moves forward), and so does
-- every other delete, except audit records at or below their anchor.
CREATE FUNCTION tenant_purge_allowed(tenant TEXT) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT tenant <> '_service'
       AND EXISTS (SELECT 1 FROM shredded_tenants WHERE tenant_id = tenant)
       AND EXISTS (SELECT 1 FROM tenant_deletions WHERE tenant_id = tenant AND state = 'running')
$$;

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.seq <= COALESCE((SELECT seq FROM audit_anchors WHERE tenant_id = OLD.tenant_id), 0) THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' AND tenant_purge_allowed(OLD.tenant_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

CREATE OR REPLACE FUNCTION audit_anchors_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.seq >= OLD.seq AND NEW.tenant_id = OLD.tenant_id THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND tenant_purge_allowed(OLD.tenant_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'an audit prune anchor only moves forward and is removed only with its tenant';
END;
$$;

CREATE OR REPLACE FUNCTION tlog_leaves_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND tenant_purge_allowed(OLD.tenant_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the transparency log is append-only';
END;
$$;
