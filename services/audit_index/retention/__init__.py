"""Retention that keeps proofs (docs/retention.md): policies, framework minimums, legal holds,
the partition-drop sweep with signed chain checkpoints, and the dry run. Kept apart from the
index's search and verification code; it reaches them through three narrow calls (the sink's
horizon, the chain projection's seed, the integrity read's checkpoint)."""
