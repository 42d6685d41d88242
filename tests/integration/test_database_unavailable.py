"""A PostgreSQL that cannot be reached fails start-up with one line naming the setting the URL
came from (the platform's database or the regions' directory), with the password redacted."""

from __future__ import annotations

import pytest

from faramesh_cloud.sql.database import Database, DatabaseUnavailable
from tests.fixtures.kafka import free_port

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("setting", [None, "FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL"])
async def test_an_unreachable_server_names_the_setting_to_check(setting: str | None) -> None:
    url = f"postgresql://cloud:s3cret@127.0.0.1:{free_port()}/cloud?connect_timeout=1"
    db = Database(url, timeout_s=1.0, **({"setting": setting} if setting else {}))
    with pytest.raises(DatabaseUnavailable) as refused:
        await db.open()
    message = str(refused.value)
    assert f"({setting or 'FARAMESH_CLOUD_POSTGRES_URL'}) is right" in message
    assert "s3cret" not in message and "cannot connect to PostgreSQL at" in message
