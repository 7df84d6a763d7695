"""Where things live in a file store, and the store's format marker.

::

    <root>/
      storekit-file-store.json        format marker ({"format": 1})
      .experiments.lock               guards experiment creation and records
      <experiment_id>/                "1", "2", ...
        meta.json                     the experiment record (experiments.py)
        runs.jsonl                    the run index (run_index.py)
        .runs.lock                    guards writes to the experiment's runs
        <run_id>/metrics.jsonl        metric history of a run (metric_log.py)
        models/<model_id>.json        logged models (logged_models.py)
      artifacts/                      default artifact root (unless configured)
      models/                         the model registry (registry.py)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import quote

from ...errors import InvalidParameterError
from ...uri import local_path_from_uri, redact_uri
from .atomic import read_json_or_none, write_json_atomic
from .oserrors import translated

__all__ = ["FORMAT_VERSION", "MARKER_FILE", "open_root", "safe_file_name"]

FORMAT_VERSION = 1
MARKER_FILE = "storekit-file-store.json"


def open_root(uri: "str | os.PathLike[str]") -> Path:
    """The absolute root directory of a file store URI, created if missing."""
    try:
        root = Path(os.path.abspath(local_path_from_uri(uri).expanduser()))
    except ValueError as exc:
        raise InvalidParameterError(f"file store: {redact_uri(str(uri))} is not a local path: {exc}") from None
    with translated("creating", root):
        root.mkdir(parents=True, exist_ok=True)
    marker = root / MARKER_FILE
    doc = read_json_or_none(marker)
    if doc is None:
        write_json_atomic(marker, {"format": FORMAT_VERSION})
    elif not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
        raise InvalidParameterError(
            f"file store: {root} has format {doc.get('format') if isinstance(doc, dict) else doc!r}; "
            f"this storekit reads format {FORMAT_VERSION}"
        )
    return root


def safe_file_name(name: str) -> str:
    """A file name for an arbitrary entity name: readable when short, hashed when long.

    Percent-encodes everything but letters, digits and ``-_.``; a leading dot
    is encoded too so that names never hide or clash with ``.``/``..``.
    """
    encoded = quote(name, safe="-_.")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded.encode()) > 150:
        digest = hashlib.sha256(name.encode()).hexdigest()[:24]
        encoded = f"{encoded[:100]}~{digest}"
    return encoded
