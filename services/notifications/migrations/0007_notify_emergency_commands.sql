-- Emergency commands as the notifications service knows them (from commands.emergency.v1,
-- group notifications-commands): what an acknowledgement needs to be routed and described
-- (its agent, kind, reason and who issued it are only on the EmergencyCommandIssued event).
CREATE TABLE notification_commands (
    org_id       uuid        NOT NULL,
    command_id   text        NOT NULL,
    stack_id     text        NOT NULL,
    agent_id     text        NOT NULL,
    command_type text        NOT NULL,
    reason       text        NOT NULL,
    issued_by    text        NOT NULL,
    issued_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, command_id)
);

-- A routing rule may route emergency commands too.
ALTER TABLE notification_rules DROP CONSTRAINT notification_rules_subject_check;
ALTER TABLE notification_rules ADD CONSTRAINT notification_rules_subject_check
    CHECK (subject IN ('approvals', 'chain_integrity', 'emergency_commands'));
