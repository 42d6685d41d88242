-- A delivery is a decision or a registry pack alert (issue 15): an alert has no approval, so
-- approval_id may be NULL, and ``kind`` names the Delivery payload (what the UI joins on and
-- what the daemon is handed). Every decision delivery keeps its approval (CHECK).
ALTER TABLE approval_deliveries
    ALTER COLUMN approval_id DROP NOT NULL,
    ADD COLUMN kind text NOT NULL DEFAULT 'approval_decision'
        CHECK (kind IN ('approval_decision', 'registry_pack_alert')),
    ADD CONSTRAINT approval_deliveries_decision_has_approval
        CHECK (kind <> 'approval_decision' OR approval_id IS NOT NULL);
