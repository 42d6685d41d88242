"""SQL migrations of the approvals service (component "approvals")."""
