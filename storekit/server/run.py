"""Running the app under uvicorn: one process, or ``workers`` processes on one socket.

Each worker builds its own app (and so its own stores) from the settings in
``STOREKIT_SERVER_SETTINGS``.  SIGTERM and SIGINT stop accepting connections
and let requests in flight finish (up to ``graceful_timeout`` seconds).
"""

from __future__ import annotations

import importlib.util
import os

from .auth import load_authorizer
from .settings import SETTINGS_ENV, ServerSettings

__all__ = ["serve"]


def _http_parser() -> str:
    """httptools (C, faster) when installed, else h11; header sizes are bounded either way
    (h11 by ``h11_max_incomplete_event_size``, and the app's LimitsMiddleware for both)."""
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def _event_loop() -> str:
    """uvloop (libuv, less CPU per request) when installed, else asyncio's own loop."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def serve(settings: ServerSettings) -> None:
    """Serve until stopped by a signal."""
    import uvicorn

    settings.check()
    load_authorizer(settings.auth)  # a missing --auth provider fails here, before any worker starts
    os.environ[SETTINGS_ENV] = settings.to_env()
    uvicorn.run(
        "storekit.server.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        http=_http_parser(),
        loop=_event_loop(),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_graceful_shutdown=settings.graceful_timeout,
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
