-- Issue 18: the chain verifier (projection audit-verifier) takes over the chain work the single
-- consumer (projection audit-index, the same topic) did up to its positions. An install upgraded
-- from the single consumer starts the verifier there: otherwise it would place every record it
-- already placed on its chain again, and each would be a duplicate_record finding. A new install
-- has no positions yet, so nothing is copied.
INSERT INTO audit_index_positions (projection, topic, partition, next_offset)
SELECT 'audit-verifier', topic, partition, next_offset FROM audit_index_positions
WHERE projection = 'audit-index'
ON CONFLICT DO NOTHING;
