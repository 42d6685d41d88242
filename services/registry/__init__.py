"""The registry: providers, policy packs and framework profiles, published, signed and served
to daemons (see ARCHITECTURE.md, "Registry")."""
