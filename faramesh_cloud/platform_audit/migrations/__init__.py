"""SQL migrations of the platform audit log (component "platform_audit")."""
