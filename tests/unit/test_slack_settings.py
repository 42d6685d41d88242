"""The Slack app's settings: optional (empty: not configured, never a start-up refusal), its
secrets inline, as ``<name>_file`` or as a file of ``secrets_dir``, never inline and file both."""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.runtime.notifications_wiring import slack_app


def test_no_slack_settings_means_not_configured(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.validate()
    app = slack_app(settings)
    assert not app.configured and app.api_base == "https://slack.com"


def test_the_secrets_come_inline_from_their_files_or_from_secrets_dir(tmp_path: Path) -> None:
    (tmp_path / "client").write_text("from-file\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "slack_signing_secret").write_text("from-dir\n")
    settings = Settings.load({}, data_dir=tmp_path, slack_client_id="1.2", slack_client_secret_file=tmp_path / "client",
                             secrets_dir=tmp_path / "secrets", slack_api_base="http://127.0.0.1:9")
    app = slack_app(settings)
    assert (app.client_id, app.client_secret, app.signing_secret, app.api_base) == (
        "1.2", "from-file", "from-dir", "http://127.0.0.1:9")
    assert app.configured
    inline = slack_app(Settings(data_dir=tmp_path, slack_signing_secret="inline", secrets_dir=tmp_path / "secrets"))
    assert inline.signing_secret == "inline"


def test_a_secret_inline_and_as_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="slack_signing_secret or slack_signing_secret_file"):
        Settings(data_dir=tmp_path, slack_signing_secret="x", slack_signing_secret_file=tmp_path / "f").validate()
