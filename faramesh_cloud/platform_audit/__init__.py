"""The platform audit log: every action taken in the Cloud UI or API, per organisation, in a
hash chain in PostgreSQL (component ``"platform_audit"``), exportable as a signed bundle.

* ``events`` (pure): ``AuditAction`` (``scope:resource:action``), ``Actor``, ``Target``.
* ``chain`` (pure): the canonical form of an entry, its hash, and chain verification.
* ``store``: :class:`PlatformAuditLog` (append, in the caller's transaction or its own;
  list with filters; verify; export).
"""
