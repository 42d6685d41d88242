"""The web server's settings: read from FARAMESH_CLOUD_* variables, checked with a message
that says what to do, and turned into the uvicorn configuration the gateway runs with."""

from __future__ import annotations

import pytest

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.runtime.http_server import HttpOptions, uvicorn_config


def test_defaults_believe_no_forwarded_header() -> None:
    settings = Settings.load(env={})
    config = uvicorn_config(object(), "127.0.0.1", 8080, HttpOptions.of(settings))
    assert settings.trusted_proxies == [] and config.proxy_headers is False
    assert settings.http_max_body_bytes == 4 * 1024 * 1024
    assert config.timeout_keep_alive == 5 and config.h11_max_incomplete_event_size == 16 * 1024
    assert getattr(config.http, "head_timeout_s") == 10.0  # noqa: B009 - set on the generated class


def test_settings_come_from_the_environment() -> None:
    settings = Settings.load(env={"FARAMESH_CLOUD_HTTP_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16",
                                  "FARAMESH_CLOUD_HTTP_MAX_BODY_BYTES": "1048576",
                                  "FARAMESH_CLOUD_HTTP_HEADER_TIMEOUT_S": "2.5"})
    config = uvicorn_config(object(), "127.0.0.1", 8080, HttpOptions.of(settings))
    assert settings.trusted_proxies == ["10.0.0.5", "10.1.0.0/16"] and settings.http_max_body_bytes == 1 << 20
    assert config.proxy_headers is True and config.forwarded_allow_ips == ["10.0.0.5", "10.1.0.0/16"]
    assert getattr(config.http, "head_timeout_s") == 2.5  # noqa: B009


@pytest.mark.parametrize(("env", "says"), [
    ({"FARAMESH_CLOUD_HTTP_TRUSTED_PROXIES": "proxy.internal"}, "not an IP address or network"),
    ({"FARAMESH_CLOUD_HTTP_MAX_BODY_BYTES": "100"}, "too small"),
    ({"FARAMESH_CLOUD_HTTP_HEADER_TIMEOUT_S": "0"}, "(0, 300]"),
])
def test_bad_values_are_refused_with_a_reason(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace("]", r"\]")):
        Settings.load(env=env)
