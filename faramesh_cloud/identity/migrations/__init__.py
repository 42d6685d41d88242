"""SQL migrations of identity (component "identity")."""
