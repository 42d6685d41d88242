"""Identity: users, memberships and roles, invitations, sessions and platform API keys.

* ``permissions`` (pure): the ``Permission`` and ``Role`` enums and the spec's role table,
  with per-stack overrides (:class:`Access`).
* ``passwords``, ``tokens`` (pure): argon2id password hashes; random secrets and their
  formats (session ids, invitation tokens, ``fmc_pk_`` platform API keys).
* the stores (``users``, ``members``, ``invitations``, ``sessions``, ``api_keys``,
  ``org_settings``, ``throttle``), gathered by :class:`faramesh_cloud.identity.service.Identity`.

Tables come from ``migrations/`` (component ``"identity"``, after ``"stacks"``, whose
``orgs`` and ``stacks`` they reference). Every store call runs as the non-owner role
``faramesh_app`` with the organisation in ``app.org_id`` (``faramesh_cloud.sql.tenant``), so
PostgreSQL row-level security backs up the ``WHERE org_id = ...`` of every query.
"""
