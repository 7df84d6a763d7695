"""What both built-in backends say when a location is not a storekit store.

A store is opened in one of two modes:

* ``create=True`` (the default): a missing or empty location becomes a new
  store; a storekit store opens; anything else is refused.
* ``create=False`` (what read-only commands use): only an existing storekit
  store opens; a missing or empty location raises :class:`StoreNotFoundError`.

In both modes a location holding someone else's data (an MLflow ``mlruns/``
tree or database, another application's tables or files) raises
:class:`ForeignStoreError` *before anything is written*.  This module holds
the wording of those errors, so that the file and SQL backends say the same.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..errors import ForeignStoreError, StoreNotFoundError

__all__ = [
    "IMPORT_MLFLOW_COMMAND",
    "foreign_store",
    "mlflow_store",
    "store_not_found",
    "mlflow_layout",
    "refuse_mlflow_artifact_root",
]

#: The command that copies an MLflow store into a storekit store.
IMPORT_MLFLOW_COMMAND = "storekit import-mlflow"


def mlflow_store(location: str, found: str) -> ForeignStoreError:
    """The error for an MLflow store at ``location`` (``found`` says how it was recognised)."""
    return ForeignStoreError(
        f"{location} is an MLflow store ({found}), not a storekit store; storekit does not "
        f"open it and wrote nothing to it. To copy its data into a storekit store, run: "
        f"{IMPORT_MLFLOW_COMMAND} {location} DESTINATION_URI"
    )


def foreign_store(location: str, found: str) -> ForeignStoreError:
    """The error for a non-empty location that holds something other than a storekit store."""
    return ForeignStoreError(
        f"{location} is not a storekit store ({found}); storekit does not open it and wrote "
        "nothing to it. Use an empty or new location for a new store"
    )


def store_not_found(location: str, why: str) -> StoreNotFoundError:
    """The error for a read-only open (``create=False``) of a location without a store."""
    return StoreNotFoundError(
        f"no storekit store at {location}: {why} (check the URI; a store is created only when it is opened for writing)"
    )


def mlflow_layout(root: Path, entries: "list[str]") -> Optional[str]:
    """The file that shows ``root`` is an MLflow file store (``mlruns/``), or None.

    MLflow keeps each experiment in ``<id>/meta.yaml``, registered models in
    ``models/<name>/meta.yaml`` and deleted experiments in ``.trash/``.
    """
    for name in sorted((e for e in entries if e.isdigit()), key=int):
        if (root / name / "meta.yaml").is_file():
            return f"{name}/meta.yaml"
    if "models" in entries and (root / "models").is_dir():
        try:
            for model in sorted(os.listdir(root / "models")):
                if (root / "models" / model / "meta.yaml").is_file():
                    return f"models/{model}/meta.yaml"
        except OSError:
            pass
    if ".trash" in entries and (root / ".trash").is_dir():
        return ".trash/"
    return None


def refuse_mlflow_artifact_root(artifact_root: str) -> None:
    """Raise ForeignStoreError when a local artifact root is an MLflow ``mlruns/`` tree.

    Artifacts go to ``<root>/<experiment id>/<run id>/...``: inside an MLflow
    file store that would write into MLflow's experiment directories.
    """
    from ..uri import is_local_uri, local_path_from_uri

    if not is_local_uri(artifact_root):
        return
    try:
        root = local_path_from_uri(artifact_root)
        entries = os.listdir(root)
    except (OSError, ValueError):
        return
    found = mlflow_layout(root, entries)
    if found is not None:
        raise mlflow_store(str(root), f"an mlruns/ directory used as the artifact root: found {found}")
