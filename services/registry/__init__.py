"""The registry: providers, policy packs and framework profiles, versioned and signed, served to
daemons (``http_api``) and to people (``api``)."""
