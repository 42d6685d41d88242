"""The approvals service's parts as other components get them: ingest's ``DaemonControl``
(decisions and emergency commands for the sync channel) and the gateway's ``ApprovalsPort``.

In process, by choice: the approvals API is small and every caller runs where PostgreSQL is
reachable, so the runtime hands ingest and the gateway the service's own objects (built over
the platform's database) behind the protocols *they* define. A gRPC client behind the same
protocols is the step for running ingest on hosts without database access.
"""

from __future__ import annotations

from fastapi import FastAPI

from faramesh_cloud.approvals.service import Approvals
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.ingest.control import DaemonControl
from faramesh_cloud.log.port import Log
from faramesh_cloud.sql.database import Database


def daemon_control(db: Database, log: Log) -> DaemonControl:
    return Approvals(db, log).control


def mount(app: FastAPI, db: Database, log: Log) -> None:
    mount_approvals(app, Approvals(db, log).api)
