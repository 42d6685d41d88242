"""Organisations, stacks and stack API keys (the credentials daemons sync with).

``keys`` is pure (key format, generation, hashing); ``store`` is the PostgreSQL-backed
:class:`StackStore`. Tables come from ``migrations/`` (component ``"stacks"``).
"""
