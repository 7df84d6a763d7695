"""The ``storekit`` command line.

Each command group lives in a module of its own under ``storekit.cli`` and
is imported only when it is invoked, so ``storekit --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

import click

__all__ = ["main", "cli"]

#: command name -> (module, attribute, one-line help)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "plugins": ("storekit.cli.plugins", "plugins", "List installed storage implementations per interface."),
    "experiments": ("storekit.cli.experiments", "experiments", "List, create, rename, delete and restore experiments."),
    "runs": ("storekit.cli.runs", "runs", "List, show, search, compare, export and plot runs."),
    "models": ("storekit.cli.models", "models", "List and show registered models."),
    "db": ("storekit.cli.db", "db", "Database schema management (SQL backends)."),
    "conformance": ("storekit.cli.conformance", "conformance", "Run the conformance suite against a URI."),
    "check": ("storekit.cli.check", "check", "Verify (and repair) a store's integrity."),
    "gc": ("storekit.cli.gc", "gc", "Permanently remove deleted runs and experiments, with their artifacts."),
    "migrate": ("storekit.cli.migrate", "migrate", "Copy a whole store into another backend (resumable, verified)."),
    "import-mlflow": ("storekit.cli.migrate", "import_mlflow", "Import an MLflow mlruns/ tree or database."),
    "accounts": ("storekit.cli.accounts", "accounts", "Users, bearer tokens and permissions of `storekit server`."),
    "server": (
        "storekit.cli.server",
        "server",
        "Serve MLflow's REST API on a storekit store (needs storekit[server]).",
    ),
    "ui": ("storekit.cli.ui", "ui", "Start MLflow's web UI and server on a storekit store (needs storekit[mlflow])."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name not in _COMMANDS:
            return None
        module, attr, _ = _COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                return None
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.option(
    "--tracking-uri",
    envvar="STOREKIT_TRACKING_URI",
    default=None,
    help="Tracking store URI (default: $STOREKIT_TRACKING_URI, else the embedded SQLite store).",
)
@click.option(
    "--registry-uri",
    envvar="STOREKIT_REGISTRY_URI",
    default=None,
    help="Registry store URI (default: $STOREKIT_REGISTRY_URI, else the tracking URI).",
)
@click.version_option(package_name="storekit")
@click.pass_context
def cli(ctx: click.Context, tracking_uri: Optional[str], registry_uri: Optional[str]) -> None:
    """storekit: experiment-tracking storage with pluggable backends."""
    ctx.ensure_object(dict)
    ctx.obj["tracking_uri"] = tracking_uri
    ctx.obj["registry_uri"] = registry_uri


def main(argv: Optional[list[str]] = None) -> Any:
    """Entry point of the ``storekit`` console script."""
    return cli.main(args=argv, prog_name="storekit")
