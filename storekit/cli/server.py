"""``storekit server``: MLflow's REST API on a storekit store (needs ``storekit[server]``)."""

from __future__ import annotations

from typing import Optional

import click

from ..errors import MissingExtraError
from ..uri import redact_uri
from ._output import handle_errors

__all__ = ["server"]

INSTALL_HINT = "pip install 'storekit[server]'"


@click.command("server")
@click.option(
    "--backend-store-uri",
    default=None,
    help="Tracking store URI (default: the group's --tracking-uri, $STOREKIT_TRACKING_URI, else ./storekit.db).",
)
@click.option("--registry-store-uri", default=None, help="Registry store URI (default: the backend store URI).")
@click.option(
    "--artifacts-destination",
    default=None,
    help="Where proxied artifacts are stored (default: $STOREKIT_ARTIFACT_URI, else ./storekit-artifacts).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (each has its own stores).")
@click.option(
    "--auth",
    type=click.Choice(["none", "basic"]),
    default="none",
    show_default=True,
    help="Authentication: none, or basic (users and permissions in the backend store).",
)
@click.option(
    "--max-request-bytes", default=16 * 1024 * 1024, show_default=True, type=int, help="Largest JSON request body."
)
@click.option(
    "--max-artifact-bytes", default=0, show_default=True, type=int, help="Largest artifact upload (0: no limit)."
)
@click.option(
    "--max-header-bytes", default=64 * 1024, show_default=True, type=int, help="Largest request line plus headers."
)
@click.option(
    "--graceful-timeout",
    default=30,
    show_default=True,
    type=int,
    help="Seconds requests in flight get to finish after SIGTERM.",
)
@click.pass_context
@handle_errors
def server(
    ctx: click.Context,
    backend_store_uri: Optional[str],
    registry_store_uri: Optional[str],
    artifacts_destination: Optional[str],
    host: str,
    port: int,
    workers: int,
    auth: str,
    max_request_bytes: int,
    max_artifact_bytes: int,
    max_header_bytes: int,
    graceful_timeout: int,
) -> None:
    """Serve MLflow's REST API (tracking, registry, logged models, proxied artifacts) on a storekit store."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

        from ..server.run import serve
        from ..server.settings import ServerSettings
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"storekit server: {exc.name} is not installed; install the extra with: {INSTALL_HINT}"
        ) from None
    obj = ctx.find_root().obj or {}
    settings = ServerSettings.create(
        backend_store_uri or obj.get("tracking_uri"),
        registry_store_uri or obj.get("registry_uri"),
        artifacts_destination,
        host=host,
        port=port,
        workers=workers,
        auth=auth,
        max_request_bytes=max_request_bytes,
        max_artifact_bytes=max_artifact_bytes,
        max_header_bytes=max_header_bytes,
        graceful_timeout=graceful_timeout,
    )
    click.echo(
        f"storekit server on http://{host}:{port} - backend {redact_uri(settings.backend_store_uri)}, "
        f"registry {redact_uri(settings.registry_store_uri)}, artifacts {redact_uri(settings.artifacts_destination)}",
        err=True,
    )
    serve(settings)
