"""The notifications service and what the gateway uses of it: the service itself (its config
from ``Settings``: the secret-sealing key in ``<data_dir>/keys/notifications.key``,
``allow_private_destinations``, the UI's URL for links; its internal gRPC API
``RoutingService`` bound on ``Settings.internal_bind_address("notifications")``, mutual TLS
with the notifications certificate), and the gateway's ``NotificationsPort``.

The port is the running service's own API (``NotificationsService.api``: its command
handlers, whose test sends wake its sender) when that service runs in the gateway's process
(``up``), and otherwise ``NotificationsClient``, the gRPC client dialling
``Settings.internal_dial_address("notifications")`` with the gateway certificate: a gateway
alone (``serve gateway``) never builds the notifications service, never reads its tables and
never holds its sealing key."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from faramesh_cloud.config import Settings, read_setting_file
from faramesh_cloud.gateway.web.notifications_ports import NotificationsPort, mount_notifications
from faramesh_cloud.gateway.web.routes_slack import mount_slack
from faramesh_cloud.gateway.web.slack_app import SlackApp
from faramesh_cloud.notifications.client import NotificationsClient
from faramesh_cloud.notifications.destinations import notifications_key
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import NotificationsConfig, NotificationsService
from faramesh_cloud.rpc.internal_pki import service_credentials
from faramesh_cloud.runtime.service import Service, ServiceContext, running


def config(settings: Settings) -> NotificationsConfig:
    return NotificationsConfig(key=notifications_key(settings),
                               allow_private=settings.allow_private_destinations, link_base=settings.http_url,
                               endpoints=Endpoints(slack_api=settings.slack_api_base),
                               delivery_retention_days=settings.delivery_retention_days)


def service(ctx: ServiceContext, settings: Settings) -> NotificationsService:
    return NotificationsService(ctx, config(settings),
                                internal_address=settings.internal_bind_address("notifications"),
                                internal_tls=service_credentials(settings, "notifications"))


def gateway_port(settings: Settings, services: Sequence[Service]) -> NotificationsPort:
    """The notifications service's own API when it runs in this process (``services``), else
    its gRPC client (close it with :func:`release`)."""
    local = running(services, NotificationsService)
    if local is not None:
        return local.api
    return NotificationsClient(settings.internal_dial_address("notifications"),
                               service_credentials(settings, "gateway"))


async def release(port: NotificationsPort) -> None:
    if isinstance(port, NotificationsClient):
        await port.close()


def slack_app(settings: Settings) -> SlackApp:
    """The installation's Slack app (OAuth install, interaction requests); unconfigured when
    the client id or a secret is empty (the Slack page then says how to configure it)."""
    def secret(name: str) -> str:  # inline, else <name>_file, else the file <name> in secrets_dir
        inline = str(getattr(settings, name))
        if inline:
            return inline
        path = getattr(settings, f"{name}_file")
        if path is None and settings.secrets_dir is not None and (settings.secrets_dir / name).is_file():
            path = settings.secrets_dir / name
        return read_setting_file(f"{name}_file", path, "the secret").strip() if path is not None else ""

    return SlackApp(client_id=settings.slack_client_id, client_secret=secret("slack_client_secret"),
                    signing_secret=secret("slack_signing_secret"), api_base=settings.slack_api_base,
                    allow_private=settings.allow_private_destinations)


def mount(app: FastAPI, port: NotificationsPort, settings: Settings | None = None) -> None:
    mount_notifications(app, port)
    mount_slack(app, slack_app(settings) if settings is not None else SlackApp())
