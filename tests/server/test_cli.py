"""The ``storekit server`` command line: registered, MLflow's flag names, settings checked before serving."""

from __future__ import annotations

from click.testing import CliRunner

from storekit.cli import cli
from storekit.server.settings import SETTINGS_ENV, ServerSettings


def test_server_is_a_command_with_mlflows_flags() -> None:
    runner = CliRunner()
    assert "server" in runner.invoke(cli, ["--help"]).output
    out = runner.invoke(cli, ["server", "--help"]).output
    for flag in ("--backend-store-uri", "--registry-store-uri", "--artifacts-destination", "--host", "--port"):
        assert flag in out
    assert "--workers" in out and "--auth" in out


def test_bad_settings_fail_before_serving() -> None:
    result = CliRunner().invoke(cli, ["server", "--port", "70000"])
    assert result.exit_code == 1 and "port" in result.output
    result = CliRunner().invoke(cli, ["server", "--workers", "0"])
    assert result.exit_code == 1 and "workers" in result.output


def test_settings_travel_to_workers_without_showing_secrets(tmp_path: object) -> None:
    settings = ServerSettings.create("postgresql://u:s3cret@db/ml", None, "/srv/art")
    assert "s3cret" not in repr(settings)
    again = ServerSettings.from_env({SETTINGS_ENV: settings.to_env()})
    assert again == settings
    assert again.registry_store_uri == "postgresql://u:s3cret@db/ml"
    assert again.artifacts_destination.startswith("file://")
