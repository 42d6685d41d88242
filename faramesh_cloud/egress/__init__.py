"""Sending to destinations people configure outside Cloud (notifications, observability
forwarding): the SSRF guard, secrets sealed at rest, HTTP posts pinned to the checked address,
and the retry rule every sender shares."""
