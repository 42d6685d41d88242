"""Settings for regions: empty region = a single-region install (no directory, nothing
connects to one); a region needs the directory; the region maps are checked at load."""

from __future__ import annotations

import pytest

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.directory.region import parse_region_map

DIRECTORY = "postgresql://directory.internal/directory"


def test_a_single_region_install_has_no_region_and_no_directory() -> None:
    settings = Settings.load(env={})
    assert settings.region == "" and settings.directory_postgres_url is None


def test_a_region_is_read_from_the_environment_with_its_maps() -> None:
    settings = Settings.load(env={
        "FARAMESH_CLOUD_REGION": "eu-central", "FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL": DIRECTORY,
        "FARAMESH_CLOUD_REGION_URLS": "us-east=https://us-east.example.com, eu-central=https://eu.example.com",
        "FARAMESH_CLOUD_REGION_SYNC_ADDRESSES": "us-east=sync.us-east.example.com:443"})
    assert settings.region == "eu-central"
    assert parse_region_map("region_urls", settings.region_urls) == {
        "us-east": "https://us-east.example.com", "eu-central": "https://eu.example.com"}
    assert DIRECTORY not in repr(settings)  # the URL may carry a password


@pytest.mark.parametrize(("values", "says"), [
    ({"region": "us-east"}, "needs directory_postgres_url"),
    ({"directory_postgres_url": DIRECTORY}, "region is empty"),
    ({"region": "US East", "directory_postgres_url": DIRECTORY}, "is not a region name"),
    ({"region": "us-east", "directory_postgres_url": DIRECTORY, "region_urls": "us-east"}, "is not REGION=VALUE"),
    ({"region": "us-east", "directory_postgres_url": DIRECTORY, "region_urls": "us-east=a,us-east=b"}, "twice"),
    ({"region": "us-east", "directory_postgres_url": DIRECTORY, "region_urls": "us-east=us-east.example.com"},
     "is not a URL"),
    ({"region": "us-east", "directory_postgres_url": DIRECTORY, "region_sync_addresses": "=x:1"},
     "region_sync_addresses"),
])
def test_region_settings_that_cannot_work_are_refused_with_the_setting_named(values: dict[str, str],
                                                                              says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.load(env={}, **values)


def test_only_the_services_that_create_or_route_open_the_directory() -> None:
    from faramesh_cloud.runtime.services import DIRECTORY_USERS

    # the gateway (organisations, people, stacks, keys; sign-in), ingest (keys of other
    # regions), the demo fleet (its stacks); the consumers never connect to it
    assert DIRECTORY_USERS == {"gateway", "ingest", "demo"}
