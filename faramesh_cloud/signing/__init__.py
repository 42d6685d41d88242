"""Signing: canonical JSON, the platform ed25519 key (in the data dir) and signed bundles."""
