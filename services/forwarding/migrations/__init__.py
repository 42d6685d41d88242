"""Migrations of the forwarding service (``NNNN_<verb>_<noun>.sql``)."""
