-- How far the sink has ever tried to index, per log partition, committed before each
-- ClickHouse insert (outside the batch's transaction). Where it is ahead of
-- audit_index_positions, an attempt inserted rows and then failed to commit, so the next
-- attempt asks ClickHouse which rows it already holds; otherwise only records whose hash
-- PostgreSQL already knows for their chain can be in ClickHouse, and only those are asked
-- about. A stale (too high) value only costs a check, never a duplicate.
CREATE TABLE audit_index_attempts (
    projection  text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    end_offset  bigint  NOT NULL CHECK (end_offset >= 0),
    PRIMARY KEY (projection, topic, partition)
);
