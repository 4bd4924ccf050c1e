-- Possible-bullying pattern detection, shared by every node: the flagged
-- or borderline messages counted per person aimed at (ids and a score,
-- never content), within the detection window; older ones are pruned.
CREATE TABLE moderation_pattern_events (
    tenant_id  TEXT   NOT NULL,
    target_id  TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    sender_id  TEXT   NOT NULL,
    score      REAL   NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, target_id, message_id)
);
CREATE INDEX moderation_pattern_events_at ON moderation_pattern_events (seen_at);
