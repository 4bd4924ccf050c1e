-- Migrations 0013 and 0014 each indexed messages for the jobs that walk a
-- tenant's messages, or one person's, in id order; every message send
-- updates every index on messages, so keep one of each:
-- discovery_messages_tenant (tenant_id, id) and discovery_messages_author
-- (tenant_id, author_id, id), which also serves what messages_author
-- (author_id) did, since every such query names the tenant.
DROP INDEX messages_tenant;
DROP INDEX messages_author;
