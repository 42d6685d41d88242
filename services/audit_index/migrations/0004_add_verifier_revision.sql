-- Re-checking earlier verdicts when the verifier is fixed (faramesh_cloud.dpr.chain
-- VERIFIER_REVISION). The index records which verifier revision its findings come from; on
-- start, a newer verifier re-checks the findings a fix can change (hash mismatches and bad
-- signatures) against the stored raw record. A finding that no longer holds is retracted,
-- never deleted: it stays with when and why, and its alert is closed with that note.
CREATE TABLE audit_verifier_revision (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    revision    integer     NOT NULL CHECK (revision >= 1),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Installs that existed before this migration indexed with revision 1.
INSERT INTO audit_verifier_revision (revision) VALUES (1);

ALTER TABLE audit_chain_findings
    ADD COLUMN retracted_at   timestamptz,
    ADD COLUMN retracted_note text;
