"""Approvals: pending defers pushed by daemons, human decisions routed back over the sync
channel, and the two emergency commands (agent kill / isolate)."""
