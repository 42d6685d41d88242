"""Compliance: posture over declared frameworks, signed PDF reports, the evidence library with
auditor share links, and policy coverage analysis (see ARCHITECTURE.md, "Compliance")."""
