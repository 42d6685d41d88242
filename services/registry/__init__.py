"""The registry: providers, policy packs and framework profiles, published, signed and served."""
