"""SQL migrations of the PostgreSQL log (component "log")."""
