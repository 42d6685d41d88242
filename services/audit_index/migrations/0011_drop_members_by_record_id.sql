-- Issue 18: the chain members (one row per record ever verified) keep their primary key only.
-- The index by (org_id, record_id) was the second random-keyed B-tree every verified record
-- paid for, and its cost grew with the table: bulk inserts of 2M members cost the server
-- 30 µs a row at the end with it, 16 without (bench/members_index_bench.py; bench/RESULTS.md,
-- "What grows inside a run"). Its one reader, the chain position of records shown in Explain
-- and exports, now names each record by stack, agent, record id and record hash, as its search
-- row has them, and probes the primary key (integrity.record_chain_facts).
DROP INDEX IF EXISTS audit_chain_records_by_id;
