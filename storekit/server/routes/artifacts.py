"""The artifact proxy: ``/api/2.0/mlflow-artifacts/artifacts/<path>`` (and the legacy ``artifacts/list``).

Uploads (``PUT``) are streamed to a temporary file in 1 MiB writes and then
handed to the artifact repository at ``--artifacts-destination``; downloads
(``GET``) are fetched from the repository into a temporary file and streamed
back in chunks.  Memory stays bounded whatever the file size.  Paths are
checked by storekit's one artifact-path rule (``..`` segments, absolute paths,
drive letters and NUL bytes are a 400).
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import shutil
import tempfile
from typing import Any, Optional

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from ...errors import ArtifactNotFound, InvalidParameterError
from ...plugins import resolve_artifact_repository
from ...validation import validate_artifact_path
from ..context import ServerContext
from ..errors import RequestError
from ..table import STRING, Args, Field, Route
from .runs import run_id_of

__all__ = ["ROUTES", "ARTIFACT_PREFIXES", "CHUNK_SIZE"]

#: Prefixes of the proxied-artifact API.
ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
#: Bytes per disk write while receiving an upload.
CHUNK_SIZE = 1024 * 1024
#: Content types a download may be served as; anything else is ``application/octet-stream``
#: (never ``text/html`` or SVG: an artifact must not run script in a browser on the server's origin).
_SAFE_TYPES = {"text/plain", "application/json", "image/png", "image/jpeg", "image/gif", "text/csv", "application/pdf"}


def _path(raw: Optional[str], field: str = "path") -> str:
    return validate_artifact_path(raw or "", field)


def _remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _file_infos(ctx: ServerContext, rel: str) -> list[dict[str, Any]]:
    files = []
    for info in ctx.artifacts.list_artifacts(rel or None):
        item: dict[str, Any] = {"path": posixpath.basename(info.path), "is_dir": info.is_dir}
        if not info.is_dir and info.file_size is not None:
            item["file_size"] = info.file_size
        files.append(item)
    return files


async def list_proxied(request: Request, ctx: ServerContext, route: Route) -> Response:
    """``GET .../artifacts?path=<dir>``: the direct children of a directory (names only, as MLflow)."""
    import json

    rel = _path(request.query_params.get("path"))
    files = await run_in_threadpool(_file_infos, ctx, rel)
    return Response(json.dumps({"files": files}), media_type="application/json")


async def download(request: Request, ctx: ServerContext, route: Route) -> Response:
    """``GET .../artifacts/<path>``: one file, streamed."""
    rel = _path(request.path_params.get("artifact_path"), "artifact_path")
    if not rel:
        raise InvalidParameterError("artifact_path: name a file")
    tmp = tempfile.mkdtemp(prefix="storekit-server-")
    try:
        local = await run_in_threadpool(ctx.artifacts.download_artifacts, rel, tmp)
        if os.path.isdir(local):
            raise InvalidParameterError(f"artifact_path {rel!r}: is a directory; list it instead")
        if not os.path.isfile(local):
            raise ArtifactNotFound(f"artifact_path {rel!r}: no such artifact")
    except BaseException:
        _remove(tmp)
        raise
    guessed = mimetypes.guess_type(rel)[0] or ""
    media = guessed if guessed in _SAFE_TYPES else "application/octet-stream"
    return FileResponse(
        local,
        media_type=media,
        headers={"X-Content-Type-Options": "nosniff"},
        background=BackgroundTask(_remove, tmp),
        content_disposition_type="attachment",
        filename=posixpath.basename(rel),
    )


async def upload(request: Request, ctx: ServerContext, route: Route) -> Response:
    """``PUT .../artifacts/<path>``: the request body becomes the file at ``<path>`` (streamed to disk)."""
    rel = _path(request.path_params.get("artifact_path"), "artifact_path")
    if not rel:
        raise InvalidParameterError("artifact_path: name a file")
    limit = ctx.settings.max_artifact_bytes
    declared = request.headers.get("content-length")
    if limit and declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, "RESOURCE_LIMIT_EXCEEDED", f"artifact: {declared} bytes exceed the limit of {limit}")
    tmp = tempfile.mkdtemp(prefix="storekit-server-")
    try:
        local = os.path.join(tmp, posixpath.basename(rel))
        received = 0
        buffer = bytearray()
        with open(local, "wb") as out:
            async for chunk in request.stream():
                received += len(chunk)
                if limit and received > limit:
                    raise RequestError(
                        413, "RESOURCE_LIMIT_EXCEEDED", f"artifact: more than the limit of {limit} bytes"
                    )
                buffer += chunk
                if len(buffer) >= CHUNK_SIZE:
                    data, buffer = bytes(buffer), bytearray()
                    await run_in_threadpool(out.write, data)
            if buffer:
                await run_in_threadpool(out.write, bytes(buffer))
        directory = posixpath.dirname(rel)
        await run_in_threadpool(ctx.artifacts.log_artifact, local, directory or None)
    finally:
        await run_in_threadpool(_remove, tmp)
    return Response("{}", media_type="application/json")


async def delete(request: Request, ctx: ServerContext, route: Route) -> Response:
    """``DELETE .../artifacts/<path>``: a file or a directory tree."""
    rel = _path(request.path_params.get("artifact_path"), "artifact_path")
    if not rel:
        raise InvalidParameterError("artifact_path: name a file or directory")
    await run_in_threadpool(ctx.artifacts.delete_artifacts, rel)
    return Response("{}", media_type="application/json")


def list_run_artifacts(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """The legacy ``artifacts/list``: children of a path in a run's artifact root."""
    run = ctx.tracking.get_run(run_id_of(a))
    rel = _path(a.get("path"))
    repo = resolve_artifact_repository(run.info.artifact_uri)
    try:
        infos = repo.list_artifacts(rel or None)
    finally:
        close = getattr(repo, "close", None)
        if close is not None:
            close()
    files = []
    for info in infos:
        item: dict[str, Any] = {"path": info.path, "is_dir": info.is_dir}
        if not info.is_dir and info.file_size is not None:
            item["file_size"] = info.file_size
        files.append(item)
    return {"root_uri": ctx.uris.to_client(run.info.artifact_uri), "files": files}


_A = "artifact"
_PATH = Field("artifact_path", STRING, required=True, in_path=True, description="relative path of the file")
ROUTES = (
    Route(
        "artifacts.list",
        ("GET",),
        "artifacts",
        "List proxied artifacts",
        _A,
        "read",
        (Field("path", STRING, description="directory relative to the artifact root"),),
        raw=list_proxied,
        prefixes=ARTIFACT_PREFIXES,
        request_body="none",
    ),
    Route(
        "artifacts.download",
        ("GET",),
        "artifacts/{artifact_path:path}",
        "Download a proxied artifact",
        _A,
        "read",
        (_PATH,),
        raw=download,
        prefixes=ARTIFACT_PREFIXES,
        content_type="application/octet-stream",
        request_body="none",
    ),
    Route(
        "artifacts.upload",
        ("PUT",),
        "artifacts/{artifact_path:path}",
        "Upload a proxied artifact",
        _A,
        "edit",
        (_PATH,),
        raw=upload,
        prefixes=ARTIFACT_PREFIXES,
        request_body="binary",
    ),
    Route(
        "artifacts.delete",
        ("DELETE",),
        "artifacts/{artifact_path:path}",
        "Delete a proxied artifact or directory",
        _A,
        "manage",
        (_PATH,),
        raw=delete,
        prefixes=ARTIFACT_PREFIXES,
        request_body="none",
    ),
    Route(
        "runs.list_artifacts",
        ("GET",),
        "artifacts/list",
        "List a run's artifacts",
        "run",
        "read",
        (Field("run_id", STRING), Field("run_uuid", STRING), Field("path", STRING), Field("page_token", STRING)),
        list_run_artifacts,
    ),
)
