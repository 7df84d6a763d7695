"""URI scheme extraction and credential redaction (contract section 1).

* A bare path, ``./x``, ``C:\\x`` and ``file:`` URIs resolve to the file backend.
* ``dialect+driver://`` yields the candidate schemes ``dialect+driver`` then ``dialect``.
* :func:`redact_uri` removes passwords, keys, tokens and signatures from a URI
  before it is shown anywhere (errors, ``repr``, logs, the CLI).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = [
    "FILE_SCHEME",
    "get_scheme",
    "candidate_schemes",
    "redact_uri",
    "local_path_from_uri",
    "path_to_file_uri",
    "is_local_uri",
    "append_path",
]

FILE_SCHEME = "file"

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# query parameters whose values are secrets
_SECRET_PARAMS = re.compile(
    r"(pass(word)?|pwd|secret|token|key|sig|signature|credential|sas|auth)", re.IGNORECASE
)
_SAS_MARKERS = {"sig", "se", "sp", "sv", "sr", "st", "spr", "ss", "srt"}


def get_scheme(uri: str) -> str:
    """The scheme of ``uri``, lower-cased; ``file`` for bare and Windows paths."""
    if not isinstance(uri, str):
        uri = os.fspath(uri)
    if _WINDOWS_DRIVE.match(uri):
        return FILE_SCHEME
    match = _SCHEME.match(uri)
    if not match:
        return FILE_SCHEME
    return match.group(1).lower()


def candidate_schemes(uri: str) -> list[str]:
    """Schemes to try in order: ``a+b`` then ``a``; a single one otherwise."""
    scheme = get_scheme(uri)
    if "+" in scheme:
        return [scheme, scheme.split("+", 1)[0]]
    return [scheme]


# ``Name=value;Name=value`` connection strings (Azure storage and the like)
_CONNECTION_STRING = re.compile(r"^\s*[A-Za-z][\w.]*\s*=[^;]*(;|$)")


def _redact_connection_string(text: str) -> str:
    """Replace the values of secret-looking ``Name=value`` pairs of a connection string."""
    pairs = []
    for pair in text.split(";"):
        name, sep, _ = pair.partition("=")
        pairs.append(f"{name}=***" if sep and _SECRET_PARAMS.search(name) else pair)
    return ";".join(pairs)


def redact_uri(uri: object) -> str:
    """Return ``uri`` with any password, key, token or signature replaced by ``***``.

    Usernames and hosts are kept so the user can still tell which server is meant.
    Anything that does not parse as a URI is returned unchanged unless it
    contains ``user:password@``, which is redacted all the same.
    """
    text = os.fspath(uri) if isinstance(uri, os.PathLike) else str(uri)
    if _CONNECTION_STRING.match(text):
        return _redact_connection_string(text)
    if get_scheme(text) == FILE_SCHEME and "@" not in text and "?" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", text)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        is_sas = any(k.lower() in _SAS_MARKERS for k, _ in pairs) and any(
            k.lower() == "sig" for k, _ in pairs
        )
        redacted = [
            (k, "***" if (is_sas or _SECRET_PARAMS.search(k)) else v) for k, v in pairs
        ]
        if redacted != pairs:
            query = urlencode(redacted, safe="*")
    if netloc == parts.netloc and query == parts.query:
        return text  # nothing secret: keep the URI exactly as given
    # rebuild by hand: urlunsplit would turn ``scheme:///path`` into ``scheme:/path``
    head = f"{parts.scheme}:" if parts.scheme else ""
    if text[len(head):].startswith("//"):
        head += "//"
    tail = (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    return f"{head}{netloc}{parts.path}{tail}"


def is_local_uri(uri: str) -> bool:
    """True for bare paths and ``file:`` URIs."""
    return get_scheme(uri) == FILE_SCHEME


def local_path_from_uri(uri: "str | os.PathLike[str]") -> Path:
    """The local filesystem path of a bare path or ``file:`` URI."""
    text = os.fspath(uri)
    if _WINDOWS_DRIVE.match(text) or not _SCHEME.match(text):
        return Path(text)
    parts = urlsplit(text)
    if parts.scheme.lower() != FILE_SCHEME:
        raise ValueError(f"not a local URI: {redact_uri(text)}")
    path = unquote(parts.path)
    if parts.netloc and parts.netloc not in ("", "localhost"):
        path = f"//{parts.netloc}{path}"
    if re.match(r"^/[A-Za-z]:", path):  # file:///C:/x on Windows
        path = path[1:]
    return Path(path)


def path_to_file_uri(path: "str | os.PathLike[str]") -> str:
    """An absolute ``file://`` URI for a local path."""
    return Path(os.path.abspath(os.fspath(path))).as_uri()


def append_path(uri: str, *segments: str) -> str:
    """Join relative, ``/``-separated segments onto a URI's path (keeping query and netloc)."""
    segs = [s.strip("/") for s in segments if s and s.strip("/")]
    if not segs:
        return uri
    if get_scheme(uri) == FILE_SCHEME and not uri.lower().startswith("file:"):
        return os.path.join(uri, *segs)
    parts = urlsplit(uri)
    path = parts.path.rstrip("/") + "/" + "/".join(quote(s, safe="/:@") for s in segs)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))
