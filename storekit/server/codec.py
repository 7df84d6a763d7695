"""The server's JSON codec: orjson when it is installed (several times faster), else the stdlib's ``json``.

Both read the same documents: anything orjson refuses (``NaN`` literals, lone
surrogates, integers beyond 64 bits) is read again by ``json``, so a request
accepted before is accepted now.  Answers hold no non-finite floats (every
double goes through :func:`storekit_http.convert.float_to_json`, which writes
them as protobuf JSON's strings); an answer orjson cannot write (a non-string
key, a huge integer) is written by ``json``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads", "dumps", "FAST"]

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is part of the server extra
    _orjson = None  # type: ignore[assignment]

#: True when orjson is in use.
FAST = _orjson is not None


def loads(raw: bytes) -> Any:
    """The JSON document ``raw`` (raises ValueError or UnicodeDecodeError when it is not JSON)."""
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:
            pass  # json decides (it reads NaN literals and lone surrogates; raises what orjson would not)
    return json.loads(raw)


def dumps(doc: Any) -> bytes:
    """``doc`` as UTF-8 JSON."""
    if _orjson is not None:
        try:
            return _orjson.dumps(doc)
        except TypeError:
            pass
    return json.dumps(doc).encode("utf-8")
