-- The package a legal request's disclosure was built as (a discovery
-- export of kind disclosure), empty when none was: a disclosure of nothing,
-- or one recorded without naming accounts.
ALTER TABLE legal_requests ADD COLUMN disclosure TEXT NOT NULL DEFAULT '';
