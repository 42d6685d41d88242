"""The REST API (``/api/v1``): everything the UI does, with the same permission checks,
for a session cookie (plus ``X-CSRF-Token`` on writes) or a platform API key bearer."""
