"""``delivery_retention_days``: read from the environment, checked with a reason, and given to
the notifications service's retention sweep."""

from __future__ import annotations

import base64

import pytest

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.runtime.notifications_wiring import config


def test_the_retention_reaches_the_notifications_service() -> None:
    assert Settings.load(env={}).delivery_retention_days == 90
    settings = Settings.load(env={"FARAMESH_CLOUD_DELIVERY_RETENTION_DAYS": "30",
                                  "FARAMESH_CLOUD_NOTIFICATIONS_KEY": base64.b64encode(bytes(32)).decode()})
    assert config(settings).delivery_retention_days == 30


@pytest.mark.parametrize("days", ["0", "-5", "3651"])
def test_a_retention_out_of_range_is_refused(days: str) -> None:
    with pytest.raises(ConfigError, match="1 to 3650 days"):
        Settings.load(env={"FARAMESH_CLOUD_DELIVERY_RETENTION_DAYS": days})
