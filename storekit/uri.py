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
from typing import Optional
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = [
    "FILE_SCHEME",
    "get_scheme",
    "candidate_schemes",
    "redact_uri",
    "redact_text",
    "uri_secrets",
    "split_password",
    "local_path_from_uri",
    "path_to_file_uri",
    "is_local_uri",
    "append_path",
]

FILE_SCHEME = "file"

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# query parameters whose values are secrets
_SECRET_PARAMS = re.compile(r"(pass(word)?|pwd|secret|token|key|sig|signature|credential|sas|auth)", re.IGNORECASE)
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
        return [scheme, scheme.partition("+")[0]]
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


def _split_userinfo(rest: str, user_pattern: "re.Pattern[str]") -> "Optional[tuple[str, str]]":
    """``(user, remainder)`` when ``rest`` starts with ``user:password@``, else None.

    The password may contain ``/ ? # : @``: the separator is the first ``@``
    after which the authority (up to ``/``, ``?`` or ``#``) holds no other ``@``.
    """
    start = 0
    while True:
        pos = rest.find("@", start)
        if pos < 0:
            return None
        user, sep, _ = rest[:pos].partition(":")
        authority = re.split(r"[/?#]", rest[pos + 1 :], maxsplit=1)[0]
        if sep and user_pattern.fullmatch(user) and "@" not in authority:
            return user, rest[pos + 1 :]
        start = pos + 1


def _redact_pairs(text: str) -> str:
    """A query or fragment with the values of secret-looking keys (or a whole SAS) replaced."""
    pairs = parse_qsl(text, keep_blank_values=True)
    if not pairs:
        return text
    is_sas = any(k.lower() == "sig" for k, _ in pairs) and any(k.lower() in _SAS_MARKERS for k, _ in pairs)
    redacted = [(k, "***" if (is_sas or _SECRET_PARAMS.search(k)) else v) for k, v in pairs]
    return text if redacted == pairs else urlencode(redacted, safe="*")


_USER_IN_URI = re.compile(r"[^:/?#@\s]*")
_USER_BARE = re.compile(r"[\w.\-]{2,}")
_URI_HEAD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*:)(//)?")


def redact_uri(uri: object) -> str:
    """Return ``uri`` with any password, key, token or signature replaced by ``***``.

    Usernames and hosts are kept so the user can still tell which server is meant.
    Passwords may contain any character (also ``/``, ``?``, ``#``, ``@``); query
    and fragment values with secret-looking names, SAS signatures and the secret
    fields of connection strings are redacted.  A URI without secrets is
    returned exactly as given.
    """
    text = os.fspath(uri) if isinstance(uri, os.PathLike) else str(uri)
    if _CONNECTION_STRING.match(text):
        return _redact_connection_string(text)
    if get_scheme(text) == FILE_SCHEME and "@" not in text and "?" not in text and "#" not in text:
        return text
    head_match = _URI_HEAD.match(text)
    if head_match and head_match.group(2):
        head, rest = head_match.group(0), text[head_match.end() :]
        split = _split_userinfo(rest, _USER_IN_URI)
    else:  # no authority: ``user:password@host/x`` written without a scheme
        head, rest = "", text
        split = _split_userinfo(rest, _USER_BARE) if "@" in text else None
    if split is not None:
        user, rest = split[0] + ":***@", split[1]
    else:
        user = ""
    body, qmark, query = rest.partition("?")
    if not qmark:
        body, hmark, fragment = body.partition("#")
        query = ""
    else:
        query, hmark, fragment = query.partition("#")
    query = _redact_pairs(query) if query else query
    fragment = _redact_pairs(fragment) if fragment else fragment
    result = f"{head}{user}{body}{qmark}{query}{hmark}{fragment}"
    return result


def split_password(uri: str) -> "tuple[str, Optional[str]]":
    """``(uri without its password, raw password or None)``, read exactly as :func:`redact_uri` reads it.

    The one parser of a URI's ``user:password@`` part: drivers get the
    password separately (percent-decoded by the caller), so a password that
    holds an unescaped ``@``, ``/``, ``?``, ``#`` or ``:`` reaches the driver
    whole, and :func:`redact_uri` hides exactly that password.
    """
    head_match = _URI_HEAD.match(uri)
    if not (head_match and head_match.group(2)):
        return uri, None
    head, rest = head_match.group(0), uri[head_match.end() :]
    split = _split_userinfo(rest, _USER_IN_URI)
    if split is None:
        return uri, None
    user, remainder = split
    password = rest[len(user) + 1 : len(rest) - len(remainder) - 1]
    return f"{head}{user}@{remainder}", password


def uri_secrets(uri: object) -> list[str]:
    """The secret values in ``uri`` (password, secret query/fragment values), raw and percent-decoded.

    For scrubbing them from text that did not come from :func:`redact_uri`,
    such as a plugin's own exception message.
    """
    text = os.fspath(uri) if isinstance(uri, os.PathLike) else str(uri)
    found: list[str] = []
    head_match = _URI_HEAD.match(text)
    rest = text[head_match.end() :] if head_match and head_match.group(2) else text
    split = _split_userinfo(rest, _USER_IN_URI if head_match and head_match.group(2) else _USER_BARE)
    if split is not None:
        password = rest[len(split[0]) + 1 : len(rest) - len(split[1]) - 1]
        found += [password, unquote(password)]
    for part in re.split(r"[?#]", text)[1:]:
        for key, value in parse_qsl(part, keep_blank_values=True):
            if _SECRET_PARAMS.search(key):  # "sig" (a SAS signature) is one of its names
                found += [value, quote(value, safe="")]
    return sorted({v for v in found if len(v) >= 3}, key=len, reverse=True)


#: URI-looking tokens in free text, and secret fields of connection strings.
_URI_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_SECRET_FIELD_IN_TEXT = re.compile(
    r"(?i)\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd|sig)=([^;&\s'\"]+)"
)


def redact_text(text: str) -> str:
    """``text`` (an error message, a log line) with every URI in it passed through :func:`redact_uri`
    and the secret fields of any connection string replaced by ``***``."""

    def one(match: "re.Match[str]") -> str:
        token = match.group(0)
        stripped = token.rstrip(".,;:)]}")
        return redact_uri(stripped) + token[len(stripped) :]

    return _SECRET_FIELD_IN_TEXT.sub(r"\1=***", _URI_IN_TEXT.sub(one, text))


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
    if parts.netloc not in ("", "localhost"):
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
