"""Leave a live store as the suite found it: remove what the checks created.

The packaged suites wrap the store's ``create_experiment`` and
``create_registered_model`` (:func:`record_created`) and, when the suite's
store is closed, delete every experiment and registered model the checks
created and did not delete themselves (:func:`remove_created`).  The
tracking interface has no permanent delete, so experiments are deleted the
way a user deletes them (``delete_experiment``): none is left active.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

__all__ = ["record_created", "remove_created"]

_CREATORS = {"create_experiment": "delete_experiment", "create_registered_model": "delete_registered_model"}


def record_created(store: Any) -> dict[str, list[str]]:
    """Wrap the creating methods of ``store`` (on the instance); returns the ids/names they hand out."""
    created: dict[str, list[str]] = {name: [] for name in _CREATORS}
    for name in _CREATORS:
        original = getattr(store, name, None)
        if original is None:
            continue

        @functools.wraps(original)
        def creating(*args: Any, __original: Any = original, __name: str = name, **kwargs: Any) -> Any:
            result = __original(*args, **kwargs)
            key = getattr(result, "name", result)  # a RegisteredModel, or an experiment id
            created[__name].append(str(key))
            return result

        setattr(store, name, creating)
    rename = getattr(store, "rename_registered_model", None)
    if rename is not None:

        @functools.wraps(rename)
        def renaming(name: str, new_name: str, *args: Any, **kwargs: Any) -> Any:
            result = rename(name, new_name, *args, **kwargs)
            models = created["create_registered_model"]
            created["create_registered_model"] = [new_name if m == name else m for m in models]
            return result

        store.rename_registered_model = renaming
    return created


def _still_there(store: Any, creator: str, key: str) -> bool:
    try:
        if creator == "create_experiment":
            stage = store.get_experiment(key).lifecycle_stage
            return str(getattr(stage, "value", stage)).lower() == "active"
        store.get_registered_model(key)
        return True
    except Exception:
        return False


def remove_created(store: Any, created: dict[str, list[str]]) -> None:
    """Delete what :func:`record_created` saw being created and is still there (best effort, warns)."""
    for creator, keys in created.items():
        deleter = getattr(store, _CREATORS[creator], None)
        if deleter is None:
            continue
        for key in keys:
            if not _still_there(store, creator, key):
                continue
            try:
                deleter(key)
            except Exception as exc:
                warnings.warn(f"storekit conformance: could not remove {key!r} after the suite: {exc}", stacklevel=1)
