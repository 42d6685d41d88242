"""Transactional outbox: a service's events committed with its state, relayed to the log."""
