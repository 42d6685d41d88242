-- The workflow summary of a range (summary.py: a compliance report's approvals section)
-- reads one organisation's approvals created in [start, end) whatever their state, and its
-- emergency commands issued in it: without these, each summary read every row of the
-- organisation (approvals_queue leads with state; emergency_commands_open holds only open
-- commands and leads with the stack).
CREATE INDEX approvals_created ON approvals (org_id, created_at);
CREATE INDEX emergency_commands_issued ON emergency_commands (org_id, issued_at);
