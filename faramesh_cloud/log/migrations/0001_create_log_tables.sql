-- The durable log kept in PostgreSQL (faramesh_cloud.log.postgres.PostgresLog).

-- One row per topic; the id keys everything else and the advisory locks of its groups.
CREATE TABLE log_topics (
    topic_id   integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    partitions integer     NOT NULL CHECK (partitions > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The offset counter of each partition: an append locks the rows it needs
-- (UPDATE ... RETURNING) so offsets are dense and assigned in commit order.
CREATE TABLE log_partitions (
    topic_id    integer NOT NULL REFERENCES log_topics (topic_id) ON DELETE CASCADE,
    partition   integer NOT NULL CHECK (partition >= 0),
    next_offset bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (topic_id, partition)
);

-- The records. Headers are two parallel arrays (NULL when a record has none).
CREATE TABLE log_records (
    topic_id      integer NOT NULL,
    partition     integer NOT NULL,
    "offset"      bigint  NOT NULL,
    key           bytea   NOT NULL,
    value         bytea   NOT NULL,
    header_names  text[],
    header_values bytea[],
    timestamp_ms  bigint  NOT NULL DEFAULT (extract(epoch FROM now()) * 1000)::bigint,
    PRIMARY KEY (topic_id, partition, "offset")
);

-- A consumer group reading one topic; its id keys the group's advisory locks.
CREATE TABLE log_groups (
    group_id   integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL,
    topic_id   integer     NOT NULL REFERENCES log_topics (topic_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, topic_id)
);

-- Committed group offsets: the offset of the next record the group will read.
CREATE TABLE log_group_offsets (
    group_id     integer     NOT NULL REFERENCES log_groups (group_id) ON DELETE CASCADE,
    partition    integer     NOT NULL,
    next_offset  bigint      NOT NULL CHECK (next_offset >= 0),
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, partition)
);
