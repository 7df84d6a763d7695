"""Fault injection for the remote repository tests: a TCP proxy that can be stopped.

The repository under test talks to the real server (moto, Azurite) through
:class:`TcpProxy`.  :meth:`TcpProxy.stop` closes the listening socket and
resets every open connection, so to the client the server has gone away in
the middle of whatever it was doing; :meth:`TcpProxy.start` brings it back on
the same port.  Unlike killing the server process, the server's state
survives, so a test can check afterwards that no partial object became visible
- and servers shared with other test sessions are left running.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any, Optional


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream``; stoppable and restartable."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._listener: Optional[socket.socket] = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.start()

    def start(self) -> None:
        """Listen (again) on the proxy's port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def stop(self) -> None:
        """Stop listening and reset every open connection."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if listener is not None:
            listener.close()
        for conn in conns:
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            conn.close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._conns.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class HttpFaultProxy:
    """An HTTP/1.1 reverse proxy to a real server that answers chosen requests itself.

    ``faults`` is a list of ``(predicate, action)`` consumed in order: the first
    request for which ``predicate(method, path)`` holds gets ``action`` instead
    of the server's answer, then that fault is used up.  An action is
    ``("status", code, body[, headers])`` - a real HTTP error answer on the wire - or
    ``("short", keep)`` - the server's real answer with its declared
    ``Content-Length`` but only the first ``keep`` bytes of its body, then the
    connection is closed (a short read).  Everything else is forwarded
    unchanged, so the server's state is real.  ``requests`` records every
    ``(method, path, status)`` seen.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        import http.server

        self.upstream = (upstream_host, upstream_port)
        self.faults: list[tuple[Any, tuple[Any, ...]]] = []
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def _take_fault(self, method: str, path: str) -> Optional[tuple[Any, ...]]:
        with self._lock:
            for i, (predicate, action) in enumerate(self.faults):
                if predicate(method, path):
                    del self.faults[i]
                    return action
        return None

    def _read_body(self, handler: Any) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += handler.rfile.read(size)
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def _serve(self, handler: Any) -> None:
        import http.client

        method, path = handler.command, handler.path
        body = self._read_body(handler)
        action = self._take_fault(method, path)
        if action is not None and action[0] == "status":
            code, payload = action[1], action[2]
            extra = action[3] if len(action) > 3 else {}
            data = payload.encode() if isinstance(payload, str) else payload
            with self._lock:
                self.requests.append((method, path, code))
            handler.send_response(code)
            handler.send_header("Content-Type", "application/xml")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                handler.send_header(key, value)
            handler.end_headers()
            if method != "HEAD":
                handler.wfile.write(data)
            return
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
        if body or method in ("PUT", "POST", "PATCH"):
            headers["Content-Length"] = str(len(body))
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        with self._lock:
            self.requests.append((method, path, resp.status))
        handler.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                handler.send_header(key, value)
        declared = resp.getheader("Content-Length")
        length = int(declared) if method == "HEAD" and declared else len(data)
        handler.send_header("Content-Length", str(length))
        if action is not None and action[0] == "short":
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(data[: action[1]])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)
