"""State of the daemon's other ways in (component ``ingest_feeds``): per-stack webhook
secrets (:mod:`.webhook_secrets`) and the WAL import ledger (:mod:`.import_ledger`).

A component of its own, beside the sync channel's ``ingest`` migrations, so each evolves
its numbered migrations independently. Its tables reference ``stacks``: migrate the
``stacks`` component first (``StackStore.start``).
"""
