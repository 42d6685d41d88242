"""Fleet projection: stack status, agents, budgets, credentials, apply history and providers
from the daemons' sync items (``sync.items.v1``), and the tenant-scoped query API the
gateway's Home and Fleet pages read."""
