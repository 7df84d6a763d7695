"""Running the app under uvicorn: one process, or ``workers`` processes on one socket.

Each worker builds its own app (and so its own stores) from the settings in
``STOREKIT_SERVER_SETTINGS``.  SIGTERM and SIGINT stop accepting connections
and let requests in flight finish (up to ``graceful_timeout`` seconds).
"""

from __future__ import annotations

import os

from .settings import SETTINGS_ENV, ServerSettings

__all__ = ["serve"]


def serve(settings: ServerSettings) -> None:
    """Serve until stopped by a signal."""
    import uvicorn

    settings.check()
    os.environ[SETTINGS_ENV] = settings.to_env()
    uvicorn.run(
        "storekit.server.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        http="h11",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_graceful_shutdown=settings.graceful_timeout,
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
