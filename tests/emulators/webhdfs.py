"""A WebHDFS protocol EMULATOR for tests (not HDFS, not a real server).

No HDFS cluster can run on the test machines, so ``webhdfs://`` is tested
against this emulator: a small threaded HTTP server on 127.0.0.1 whose
"namespace" is a temporary directory.  It speaks the subset of the WebHDFS
REST API (``/webhdfs/v1/<path>?op=...``) that clients use for files:

* ``GETFILESTATUS``, ``LISTSTATUS``, ``GETCONTENTSUMMARY``, ``GETHOMEDIRECTORY``
* ``MKDIRS``, ``RENAME`` (with ``renameoptions=OVERWRITE``), ``DELETE``
* ``CREATE``, ``APPEND`` and ``OPEN`` with Hadoop's two-step protocol: the
  "namenode" answers ``307 Temporary Redirect`` to a "datanode" URL (this
  same server, marked with ``namenoderpcaddress``), which moves the bytes.
  Bodies are streamed in bounded memory (``Content-Length`` or chunked).

Errors are Hadoop-style JSON with Hadoop's status codes::

    {"RemoteException": {"exception": "FileNotFoundException",
                         "javaClassName": "java.io.FileNotFoundException",
                         "message": "File /x does not exist."}}

HDFS semantics kept: ``RENAME`` onto an existing file fails (returns
``false``) unless ``renameoptions=OVERWRITE``; renaming onto a directory
moves the source into it; ``CREATE`` makes missing parents and refuses to
replace a file unless ``overwrite=true``; ``DELETE`` of a non-empty
directory needs ``recursive=true``.

Fault injection for tests: :meth:`WebHdfsEmulator.inject` makes the next
requests of an operation fail with a status and Hadoop exception, and
:meth:`WebHdfsEmulator.cut_datanode_writes_after` drops datanode uploads
after some bytes (a connection lost mid-transfer).  :meth:`stop` and
:meth:`start` take the whole "cluster" down and up again on the same port.

Run standalone (e.g. for benchmarks)::

    python -m tests.emulators.webhdfs --root /tmp/hdfs --port 45870
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["WebHdfsEmulator", "HadoopError"]

_PREFIX = "/webhdfs/v1"
_DATANODE_MARK = "namenoderpcaddress"
_BUFFER = 1024 * 1024

# Hadoop's exception -> (HTTP status, Java class), as its ExceptionHandler maps them.
_EXCEPTIONS: dict[str, tuple[int, str]] = {
    "FileNotFoundException": (404, "java.io.FileNotFoundException"),
    "FileAlreadyExistsException": (403, "org.apache.hadoop.fs.FileAlreadyExistsException"),
    "PathIsNotEmptyDirectoryException": (403, "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException"),
    "ParentNotDirectoryException": (403, "org.apache.hadoop.fs.ParentNotDirectoryException"),
    "AccessControlException": (403, "org.apache.hadoop.security.AccessControlException"),
    "IllegalArgumentException": (400, "java.lang.IllegalArgumentException"),
    "UnsupportedOperationException": (400, "java.lang.UnsupportedOperationException"),
    "IOException": (403, "java.io.IOException"),
    "RetriableException": (503, "org.apache.hadoop.ipc.RetriableException"),
    "StandbyException": (403, "org.apache.hadoop.ipc.StandbyException"),
    "RuntimeException": (500, "java.lang.RuntimeException"),
}


class HadoopError(Exception):
    """An error the emulator answers as a Hadoop ``RemoteException``."""

    def __init__(self, exception: str, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.exception = exception
        self.message = message
        self.status = status if status is not None else _EXCEPTIONS.get(exception, (500, ""))[0]

    def body(self) -> bytes:
        """The JSON body Hadoop sends for this error."""
        java = _EXCEPTIONS.get(self.exception, (500, f"org.apache.hadoop.{self.exception}"))[1]
        return json.dumps(
            {"RemoteException": {"exception": self.exception, "javaClassName": java, "message": self.message}}
        ).encode()


@dataclass
class _Fault:
    op: str
    status: int
    exception: str
    remaining: int
    datanode: bool


class _Namespace:
    """The HDFS namespace, kept in a local directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()  # serialises namespace changes like the namenode does

    def local(self, hdfs_path: str) -> Path:
        parts = [p for p in hdfs_path.split("/") if p not in ("", ".")]
        if any(p == ".." for p in parts):
            raise HadoopError("IllegalArgumentException", f"Invalid path name {hdfs_path}")
        return self.root.joinpath(*parts)

    def require(self, hdfs_path: str) -> Path:
        path = self.local(hdfs_path)
        if not path.exists():
            raise HadoopError("FileNotFoundException", f"File {hdfs_path} does not exist.")
        return path

    def status(self, path: Path, suffix: str) -> dict[str, Any]:
        st = path.stat()
        is_dir = path.is_dir()
        return {
            "accessTime": 0 if is_dir else int(st.st_atime * 1000),
            "blockSize": 0 if is_dir else 134217728,
            "childrenNum": len(os.listdir(path)) if is_dir else 0,
            "fileId": st.st_ino,
            "group": "supergroup",
            "length": 0 if is_dir else st.st_size,
            "modificationTime": int(st.st_mtime * 1000),
            "owner": "storekit",
            "pathSuffix": suffix,
            "permission": "755" if is_dir else "644",
            "replication": 0 if is_dir else 3,
            "storagePolicy": 0,
            "type": "DIRECTORY" if is_dir else "FILE",
        }

    def mkdirs(self, hdfs_path: str) -> None:
        path = self.local(hdfs_path)
        probe = path
        while probe != self.root and not probe.exists():
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            raise HadoopError("ParentNotDirectoryException", f"Parent path is not a directory: {probe}")
        path.mkdir(parents=True, exist_ok=True)

    def rename(self, src_hdfs: str, dst_hdfs: str, overwrite: bool) -> bool:
        src = self.local(src_hdfs)
        dst = self.local(dst_hdfs)
        with self.lock:
            if not src.exists() or src == self.root:
                return False
            if dst.is_dir() and not overwrite:
                dst = dst / src.name
            if dst.exists():
                if not overwrite or dst.is_dir() != src.is_dir():
                    return False
                if dst.is_dir() and any(dst.iterdir()):
                    raise HadoopError("IOException", f"rename destination directory is not empty: {dst_hdfs}")
            if not dst.parent.is_dir():
                return False
            os.replace(src, dst)
            return True

    def delete(self, hdfs_path: str, recursive: bool) -> bool:
        path = self.local(hdfs_path)
        with self.lock:
            if not path.exists():
                return False
            if path.is_dir():
                if any(path.iterdir()) and not recursive:
                    raise HadoopError(
                        "PathIsNotEmptyDirectoryException", f"`{hdfs_path} is non empty': Directory is not empty"
                    )
                if path == self.root:
                    for child in path.iterdir():
                        shutil.rmtree(child) if child.is_dir() else child.unlink()
                else:
                    shutil.rmtree(path)
            else:
                path.unlink()
            return True


class _Handler(BaseHTTPRequestHandler):
    """One HTTP request to the namenode or datanode side of the emulator."""

    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log of the stdlib server."""

    # --- plumbing -------------------------------------------------------
    def _parse(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        if not parts.path.startswith(_PREFIX):
            raise HadoopError("IllegalArgumentException", f"Invalid URI path {parts.path}", status=404)
        hdfs_path = unquote(parts.path[len(_PREFIX) :]) or "/"
        params = {k.lower(): v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        return hdfs_path, params

    def _send(self, status: int, body: bytes = b"", headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _json(self, obj: Any) -> None:
        self._send(200, json.dumps(obj).encode())

    def _drain(self) -> None:
        """Read and drop a request body so the connection stays usable."""
        for _ in self._body_chunks():
            pass

    def _body_chunks(self):  # type: ignore[no-untyped-def]
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    data = self.rfile.read(min(remaining, _BUFFER))
                    if not data:
                        raise ConnectionError("client went away")
                    remaining -= len(data)
                    yield data
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                data = self.rfile.read(min(remaining, _BUFFER))
                if not data:
                    raise ConnectionError("client went away")
                remaining -= len(data)
                yield data

    def _datanode_location(self, op: str, hdfs_path: str, params: dict[str, str]) -> str:
        # the "datanode" is this same server, reached the way the client reached the namenode
        host, port = self.server.server_address[:2]
        address = self.headers.get("Host") or f"{host}:{port}"
        keep = {k: v for k, v in params.items() if k not in ("op",)}
        keep[_DATANODE_MARK] = "emulator"
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in keep.items())
        return f"http://{address}{_PREFIX}{quote(hdfs_path)}?op={op}&{query}"

    def _dispatch(self, method: str) -> None:
        try:
            hdfs_path, params = self._parse()
            op = params.get("op", "").upper()
            datanode = _DATANODE_MARK in params
            self.server.emulator._check_fault(op, datanode)
            handler = getattr(self, f"_{method}_{op.lower()}", None)
            if handler is None:
                raise HadoopError(
                    "IllegalArgumentException", f'Invalid value for webhdfs parameter "op": {op} for {method}'
                )
            handler(hdfs_path, params, datanode)
        except HadoopError as err:
            if method in ("put", "post"):
                try:
                    self._drain()
                except (ConnectionError, ValueError):
                    self.close_connection = True
            self._send(err.status, err.body())
        except _Cut:
            self.close_connection = True
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def do_GET(self) -> None:
        """GET operations: status, listing, summary, home, OPEN."""
        self._dispatch("get")

    def do_PUT(self) -> None:
        """PUT operations: MKDIRS, RENAME, CREATE."""
        self._dispatch("put")

    def do_POST(self) -> None:
        """POST operations: APPEND."""
        self._dispatch("post")

    def do_DELETE(self) -> None:
        """DELETE."""
        self._dispatch("delete")

    # --- operations -----------------------------------------------------
    @property
    def ns(self) -> _Namespace:
        return self.server.emulator.namespace

    def _get_getfilestatus(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        self._json({"FileStatus": self.ns.status(self.ns.require(hdfs_path), "")})

    def _get_liststatus(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        path = self.ns.require(hdfs_path)
        if path.is_dir():
            entries = [self.ns.status(child, child.name) for child in sorted(path.iterdir())]
        else:
            entries = [self.ns.status(path, "")]
        self._json({"FileStatuses": {"FileStatus": entries}})

    def _get_getcontentsummary(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        path = self.ns.require(hdfs_path)
        files = dirs = length = 0
        for dirpath, dirnames, filenames in os.walk(path) if path.is_dir() else []:
            dirs += 1
            files += len(filenames)
            length += sum(os.path.getsize(os.path.join(dirpath, f)) for f in filenames)
        if path.is_file():
            files, length = 1, path.stat().st_size
        self._json(
            {
                "ContentSummary": {
                    "directoryCount": dirs,
                    "fileCount": files,
                    "length": length,
                    "quota": -1,
                    "spaceConsumed": length * 3,
                    "spaceQuota": -1,
                }
            }
        )

    def _get_gethomedirectory(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        self._json({"Path": f"/user/{params.get('user.name', 'storekit')}"})

    def _put_mkdirs(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        self._drain()
        self.ns.mkdirs(hdfs_path)
        self._json({"boolean": True})

    def _put_rename(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        self._drain()
        dest = params.get("destination")
        if not dest or not dest.startswith("/"):
            raise HadoopError("IllegalArgumentException", f'Invalid value for webhdfs parameter "destination": {dest}')
        overwrite = "OVERWRITE" in params.get("renameoptions", "").upper()
        self._json({"boolean": self.ns.rename(hdfs_path, dest, overwrite)})

    def _delete_delete(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        recursive = params.get("recursive", "false").lower() == "true"
        self._json({"boolean": self.ns.delete(hdfs_path, recursive)})

    def _put_create(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        path = self.ns.local(hdfs_path)
        overwrite = params.get("overwrite", "false").lower() == "true"
        if path.is_dir():
            raise HadoopError("FileAlreadyExistsException", f"{hdfs_path} already exists as a directory")
        if path.exists() and not overwrite:
            raise HadoopError("FileAlreadyExistsException", f"{hdfs_path} for client 127.0.0.1 already exists")
        if not datanode:
            self._drain()
            self._send(307, headers={"Location": self._datanode_location("CREATE", hdfs_path, params)})
            return
        self.ns.mkdirs(hdfs_path.rsplit("/", 1)[0] or "/")
        self._receive(path, "wb")
        self._send(201, headers={"Location": f"hdfs://127.0.0.1{quote(hdfs_path)}"})

    def _post_append(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        path = self.ns.require(hdfs_path)
        if path.is_dir():
            raise HadoopError("FileNotFoundException", f"Failed to append to non-existent file {hdfs_path}")
        if not datanode:
            self._drain()
            self._send(307, headers={"Location": self._datanode_location("APPEND", hdfs_path, params)})
            return
        self._receive(path, "ab")
        self._send(200)

    def _receive(self, path: Path, mode: str) -> None:
        """Stream the request body into ``path`` (honouring an injected cut)."""
        written = 0
        with open(path, mode) as out:
            for chunk in self._body_chunks():
                cut = self.server.emulator._cut_after
                if cut is not None and written + len(chunk) > cut and self.server.emulator._take_cut() is not None:
                    out.write(chunk[: max(0, cut - written)])
                    out.flush()
                    raise _Cut()
                out.write(chunk)
                written += len(chunk)

    def _get_open(self, hdfs_path: str, params: dict[str, str], datanode: bool) -> None:
        path = self.ns.require(hdfs_path)
        if path.is_dir():
            raise HadoopError("FileNotFoundException", f"{hdfs_path} is a directory")
        if not datanode:
            self._send(307, headers={"Location": self._datanode_location("OPEN", hdfs_path, params)})
            return
        size = path.stat().st_size
        offset = int(params.get("offset") or 0)
        if offset < 0 or offset > size:
            raise HadoopError("IOException", f"Offset={offset} out of the range [0, {size}); OPEN, path={hdfs_path}")
        length = size - offset if params.get("length") in (None, "") else min(int(params["length"]), size - offset)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        with open(path, "rb") as src:
            src.seek(offset)
            remaining = length
            while remaining:
                data = src.read(min(remaining, _BUFFER))
                if not data:
                    break
                self.wfile.write(data)
                remaining -= len(data)


class _Cut(Exception):
    """Raised inside the handler to drop a connection mid-upload."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: "WebHdfsEmulator"


class WebHdfsEmulator:
    """An in-process WebHDFS protocol emulator serving ``root`` on 127.0.0.1.

    Use as a context manager, or call :meth:`start` / :meth:`stop`.  ``port=0``
    picks a free port on the first start; later starts reuse it.
    """

    def __init__(self, root: "str | os.PathLike[str]", host: str = "127.0.0.1", port: int = 0) -> None:
        self.namespace = _Namespace(Path(root))
        Path(root).mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._faults: list[_Fault] = []
        self._cut_after: Optional[int] = None
        self._fault_lock = threading.Lock()
        #: Number of requests served per operation (``"CREATE"``, ``"OPEN"``...), for tests.
        self.requests: dict[str, int] = {}

    # --- lifecycle --------------------------------------------------------
    def start(self) -> "WebHdfsEmulator":
        """Start serving (on the same port as before, if it ran already)."""
        if self._server is not None:
            return self
        deadline = time.monotonic() + 10
        while True:
            try:
                server = _Server((self.host, self.port), _Handler)
                break
            except OSError:
                if self.port == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        server.emulator = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; open connections are closed."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "WebHdfsEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``host:port`` of the emulated namenode."""
        return f"{self.host}:{self.port}"

    def uri(self, path: str = "/") -> str:
        """A ``webhdfs://`` URI for ``path`` on this emulator."""
        return f"webhdfs://{self.address}/{path.lstrip('/')}"

    # --- fault injection ----------------------------------------------------
    def inject(
        self, op: str, status: int = 503, exception: str = "RetriableException", times: int = 1, datanode: bool = False
    ) -> None:
        """Make the next ``times`` requests of ``op`` (namenode or datanode step) fail."""
        with self._fault_lock:
            self._faults.append(_Fault(op.upper(), status, exception, times, datanode))

    def cut_datanode_writes_after(self, nbytes: int) -> None:
        """Drop the next datanode upload that carries more than ``nbytes`` bytes, after storing ``nbytes``."""
        with self._fault_lock:
            self._cut_after = nbytes

    def clear_faults(self) -> None:
        """Remove every pending injected fault."""
        with self._fault_lock:
            self._faults.clear()
            self._cut_after = None

    def _check_fault(self, op: str, datanode: bool) -> None:
        with self._fault_lock:
            self.requests[op] = self.requests.get(op, 0) + 1
            for fault in self._faults:
                if fault.op == op and fault.datanode == datanode and fault.remaining > 0:
                    fault.remaining -= 1
                    raise HadoopError(fault.exception, f"injected fault: {op} failed", status=fault.status)

    def _take_cut(self) -> Optional[int]:
        with self._fault_lock:
            cut, self._cut_after = self._cut_after, None
            return cut


def main(argv: Optional[list[str]] = None) -> None:
    """Serve a directory as a WebHDFS emulator until interrupted."""
    parser = argparse.ArgumentParser(description="WebHDFS protocol emulator (for tests and benchmarks)")
    parser.add_argument("--root", required=True, help="directory holding the emulated namespace")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    emulator = WebHdfsEmulator(args.root, port=args.port).start()
    print(f"STOREKIT_TEST_WEBHDFS_URI={emulator.uri('/')}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
