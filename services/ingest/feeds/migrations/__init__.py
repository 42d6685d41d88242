"""SQL migrations of the daemon feeds' state (component "ingest_feeds")."""
