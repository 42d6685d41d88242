"""The registry service (issue 15)."""
