"""The notifications service composed: its config from ``Settings`` (the secret-sealing key in
``<data_dir>/keys/notifications.key``, ``allow_private_destinations``, the UI's URL for links)
and its people-facing API for the gateway (in process, like the approvals API)."""

from __future__ import annotations

from fastapi import FastAPI

from faramesh_cloud.config import Settings
from faramesh_cloud.gateway.web.notifications_ports import mount_notifications
from faramesh_cloud.log.port import Log
from faramesh_cloud.notifications.destinations import load_or_create_key
from faramesh_cloud.notifications.service import (
    Notifications,
    NotificationsConfig,
    NotificationsService,
)
from faramesh_cloud.runtime.service import ServiceContext
from faramesh_cloud.sql.database import Database


def config(settings: Settings) -> NotificationsConfig:
    return NotificationsConfig(key=load_or_create_key(settings.data_dir),
                               allow_private=settings.allow_private_destinations, link_base=settings.http_url)


def service(ctx: ServiceContext, settings: Settings) -> NotificationsService:
    return NotificationsService(ctx, config(settings))


def mount(app: FastAPI, db: Database, log: Log, settings: Settings) -> None:
    mount_notifications(app, Notifications(db, log, config(settings)).api)
