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
import re
from pathlib import Path
from urllib.parse import quote

from ...errors import InvalidParameterError
from ...uri import local_path_from_uri, redact_uri
from ..opening import foreign_store, mlflow_layout, mlflow_store, store_not_found
from .atomic import read_json_or_none, write_json_atomic
from .oserrors import translated

__all__ = ["FORMAT_VERSION", "MARKER_FILE", "open_root", "safe_file_name"]

FORMAT_VERSION = 1
MARKER_FILE = "storekit-file-store.json"


def open_root(uri: "str | os.PathLike[str]", create: bool = True) -> Path:
    """The absolute root directory of the file store at ``uri``.

    A missing or empty directory becomes a new store (its format marker is
    written) when ``create`` is true, and raises
    :class:`~storekit.errors.StoreNotFoundError` otherwise.  A directory that
    holds anything but a storekit store (an MLflow ``mlruns/`` tree, other
    files) raises :class:`~storekit.errors.ForeignStoreError` and nothing is
    written to it.
    """
    try:
        root = Path(os.path.abspath(local_path_from_uri(uri).expanduser()))
    except ValueError as exc:
        raise InvalidParameterError(f"file store: {redact_uri(str(uri))} is not a local path: {exc}") from None
    entries = _entries(root)
    if entries is None:
        if not create:
            raise store_not_found(str(root), "the directory does not exist")
        with translated("creating", root):
            root.mkdir(parents=True, exist_ok=True)
        entries = _entries(root) or []
    marker = root / MARKER_FILE
    doc = read_json_or_none(marker) if MARKER_FILE in entries else None
    if doc is None:
        _refuse_foreign(root, entries)
        if not create:
            raise store_not_found(str(root), "the directory is empty")
        write_json_atomic(marker, {"format": FORMAT_VERSION})
    elif not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
        raise InvalidParameterError(
            f"file store: {root} has format {doc.get('format') if isinstance(doc, dict) else doc!r}; "
            f"this storekit reads format {FORMAT_VERSION}"
        )
    return root


def _entries(root: Path) -> "list[str] | None":
    """The names in ``root``, or None when it does not exist; a file there is a foreign store."""
    try:
        return os.listdir(root)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise foreign_store(str(root), _describe_file(root)) from None
    except OSError as exc:
        with translated("listing", root):
            raise exc


def _describe_file(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        head = b""
    if head == b"SQLite format 3\x00":
        return "a SQLite database file, not a directory; open it with a sqlite:/// URI"
    return "a file, not a directory"


def _is_marker_temp(name: str) -> bool:
    """A marker being written by another process creating the same store right now."""
    return name.startswith(f".{MARKER_FILE}.") and name.endswith(".tmp")


def _refuse_foreign(root: Path, entries: "list[str]") -> None:
    """Raise ForeignStoreError when a directory without a storekit marker is not empty."""
    others = sorted(e for e in entries if e != MARKER_FILE and not _is_marker_temp(e))
    if not others:
        return
    mlflow = mlflow_layout(root, others)
    if mlflow is not None:
        raise mlflow_store(str(root), f"an mlruns/ directory: found {mlflow}")
    shown = ", ".join(repr(e) for e in others[:3]) + (", ..." if len(others) > 3 else "")
    raise foreign_store(str(root), f"the directory holds {len(others)} entries ({shown}) and no {MARKER_FILE} marker")


#: The shape of a hashed (long) name's file name; no short name's file name has it.
_HASHED_NAME = re.compile(r"(?s).{100}~[0-9a-f]{24}\Z")


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
    elif _HASHED_NAME.match(encoded):
        # a short name shaped like a hashed one ("<100 chars>~<24 hex>") must not take the
        # directory of the long name it imitates: its "~" is encoded, so the shapes never meet
        encoded = f"{encoded[:100]}%7E{encoded[101:]}"
    return encoded
