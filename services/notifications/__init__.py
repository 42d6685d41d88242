"""Notifications: who is told about pending approvals and how (Slack, PagerDuty, email over
SMTP, Standard Webhooks), routing rules per stack and agent, escalation after time
thresholds, and a delivery outbox that survives crashes (at-least-once)."""
