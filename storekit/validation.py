"""Limits and name rules of the contract, shared by every backend.

Every check raises :class:`~storekit.errors.InvalidParameterError` with a
message naming the field and the limit; nothing is ever truncated.
Backends call these at their entry points so that all of them accept and
refuse exactly the same input.
"""

from __future__ import annotations

import json
import math
import numbers
import operator
import posixpath
import re
from typing import Any, Iterable, Mapping, Optional, Sequence

from .entities import Dataset, DatasetInput, Metric, Param, RunTag
from .errors import InvalidParameterError
from .interfaces import DEFAULT_MAX_RESULTS, MAX_RESULTS_CAP

__all__ = [
    "validate_artifact_source",
    "surrogate_position",
    "refuse_surrogates",
    "MAX_KEY_LENGTH",
    "MAX_PARAM_VALUE_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "MAX_EXPERIMENT_NAME_LENGTH",
    "MAX_MODEL_NAME_LENGTH",
    "MAX_RUN_NAME_LENGTH",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_ALIAS_LENGTH",
    "MAX_METRICS_PER_BATCH",
    "MAX_PARAMS_PER_BATCH",
    "MAX_TAGS_PER_BATCH",
    "validate_key",
    "validate_metric",
    "validate_param",
    "validate_tag",
    "validate_tags",
    "validate_batch",
    "plain_metric_columns_valid",
    "validate_experiment_name",
    "validate_run_name",
    "validate_model_name",
    "validate_description",
    "validate_alias",
    "validate_run_id",
    "validate_experiment_id",
    "validate_max_results",
    "validate_artifact_path",
    "validate_version",
    "validate_model_version_source",
    "coerce_metric_value",
    "MAX_MODEL_ID_LENGTH",
    "MAX_USER_ID_LENGTH",
    "MAX_LOGGED_MODEL_TEXT_LENGTH",
    "DATASET_LIMITS",
    "MAX_DATASET_TEXT_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_DATASET_CONTEXT_LENGTH",
    "validate_user_id",
    "validate_millis",
    "validate_run_tags",
    "validate_dataset_input",
    "validate_dataset_inputs",
    "validate_model_id",
    "validate_logged_model_text",
    "validate_artifact_location",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_MODEL_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 65_535
#: Free text (descriptions, artifact locations, model sources, dataset source/schema/profile):
#: at most this many bytes in UTF-8, what every built-in backend stores (a MySQL/MariaDB TEXT).
MAX_TEXT_BYTES = 65_535
MAX_ALIAS_LENGTH = 255
MAX_MODEL_ID_LENGTH = 64
MAX_USER_ID_LENGTH = 256
MAX_LOGGED_MODEL_TEXT_LENGTH = 500
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100

#: Longest accepted value per :class:`~storekit.entities.Dataset` field, in characters
#: (``source``, ``schema`` and ``profile`` are also limited in UTF-8 bytes, see
#: :data:`MAX_DATASET_TEXT_BYTES`).  Name, digest, source type and source are required.
DATASET_LIMITS: Mapping[str, int] = {
    "name": 500,
    "digest": 64,
    "source_type": 64,
    "source": 65_535,
    "schema": 65_535,
    "profile": 65_535,
}
#: ``source``, ``schema`` and ``profile`` of a dataset: at most this many bytes in UTF-8.
MAX_DATASET_TEXT_BYTES = MAX_TEXT_BYTES
#: The ``context`` tag of a dataset input: at most this many characters.
MAX_DATASET_CONTEXT_LENGTH = 250
_DATASET_REQUIRED = frozenset({"name", "digest", "source_type", "source"})
_DATASET_BYTES = frozenset({"source", "schema", "profile"})
_MODEL_ID_RE = re.compile(r"\Am-[0-9A-Za-z]+\Z")

_KEY_RE = re.compile(r"\A[\w.\- /:]+\Z")  # \Z: "$" would also match before a final newline
_RUN_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_ALIAS_RE = re.compile(r"\A[\w\-]+\Z")
_RESERVED_ALIAS_RE = re.compile(r"\A(latest|v\d+)\Z", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_INT64_MAX = 2**63 - 1


def _require_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(f"{field}: expected a string, got {type(value).__name__}")
    return value


def surrogate_position(text: str) -> int:
    """Index of the first lone surrogate (U+D800..U+DFFF) in ``text``, or -1.

    Such a string cannot be encoded as UTF-8: no store can keep it, so every
    name, value and filter holding one is refused with InvalidParameterError.
    """
    if text.isascii():
        return -1
    found = _SURROGATE_RE.search(text)
    return -1 if found is None else found.start()


def refuse_surrogates(text: str, field: str) -> str:
    """``text`` unchanged, or InvalidParameterError naming ``field`` when it holds a lone surrogate."""
    at = surrogate_position(text)
    if at >= 0:
        raise InvalidParameterError(
            f"{field}: lone surrogate U+{ord(text[at]):04X} at position {at} is not valid Unicode text"
        )
    return text


#: Keys that passed :func:`_is_valid_key` (the fast path); refused keys are never kept.
_VALID_KEYS: dict[str, bool] = {}
_VALID_KEYS_MAX = 4096


def _is_valid_key(key: str) -> bool:
    """Fast path of :func:`validate_key`: True when ``key`` passes every rule.

    Accepted keys (at most 250 characters each) are remembered, up to 4,096 of
    them; a refused key is not kept, so refused input of any size costs no memory.
    """
    if key in _VALID_KEYS:
        return True
    ok = (
        0 < len(key) <= MAX_KEY_LENGTH
        and _KEY_RE.match(key) is not None
        and not key.startswith("/")
        and ".." not in key.split("/")
    )
    if ok:
        if len(_VALID_KEYS) >= _VALID_KEYS_MAX:
            _VALID_KEYS.clear()
        _VALID_KEYS[key] = True
    return ok


def validate_key(key: object, field: str = "key") -> str:
    """A metric/param/tag key: at most 250 chars of ``[\\w.\\- /:]``, not starting with ``/``, no ``..`` segment."""
    if type(key) is str and len(key) <= MAX_KEY_LENGTH and _is_valid_key(key):
        return key
    key = _require_str(key, field)
    if not key:
        raise InvalidParameterError(f"{field}: must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameterError(
            f"{field} {key[:40]!r}...: length {len(key)} exceeds the limit of {MAX_KEY_LENGTH} characters"
        )
    if not _KEY_RE.match(key):
        raise InvalidParameterError(
            f"{field} {key!r}: may contain only letters, digits, underscores, dashes, "
            "periods, spaces, slashes and colons"
        )
    if key.startswith("/"):
        raise InvalidParameterError(f"{field} {key!r}: must not start with '/'")
    if ".." in key.split("/"):
        raise InvalidParameterError(f"{field} {key!r}: must not contain a '..' path segment")
    return key


def _validate_value(value: object, field: str, limit: int) -> str:
    value = _require_str(value, field)
    if len(value) > limit:
        raise InvalidParameterError(f"{field}: length {len(value)} exceeds the limit of {limit} characters")
    if "\x00" in value:
        raise InvalidParameterError(f"{field}: must not contain NUL characters")
    return refuse_surrogates(value, field)


def _check_text_bytes(value: str, field: str, limit: int = MAX_TEXT_BYTES) -> str:
    """``value`` unless its UTF-8 form is longer than ``limit`` bytes (then InvalidParameterError)."""
    if len(value) * 4 > limit:  # only text that may be too long is encoded
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise InvalidParameterError(f"{field}: {size} bytes in UTF-8 exceed the limit of {limit} bytes")
    return value


def _validate_int(value: object, field: str, minimum: int = -_INT64_MAX - 1) -> int:
    if type(value) is int and minimum <= value <= _INT64_MAX:  # fast path
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{field}: expected an integer, got {type(value).__name__}")
    value = int(value)
    if not minimum <= value <= _INT64_MAX:
        raise InvalidParameterError(f"{field}: {value} is outside [{minimum}, {_INT64_MAX}]")
    return value


def coerce_metric_value(value: object, key: object = None) -> Any:
    """``value`` as a Python float when it is a real number (numpy scalars, big ints included).

    Anything else (strings, booleans, ``None``) is returned unchanged so that
    :func:`validate_metric` refuses it with a message naming the metric.  An
    integer too large for a double raises InvalidParameterError.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise InvalidParameterError(
                f"metric {key!r} value: {str(value)[:40]}... is too large for a 64-bit float"
            ) from None
    return value


def validate_metric(metric: Metric) -> Metric:
    """A metric point: valid key, real-number value (NaN/inf allowed), integer step and timestamp."""
    if not isinstance(metric, Metric):
        raise InvalidParameterError(f"metric: expected a Metric, got {type(metric).__name__}")
    validate_key(metric.key, "metric key")
    if type(metric.value) is not float and (
        isinstance(metric.value, bool) or not isinstance(metric.value, numbers.Real)
    ):
        raise InvalidParameterError(
            f"metric {metric.key!r} value: expected a number, got {type(metric.value).__name__}"
        )
    _validate_int(metric.timestamp, f"metric {metric.key!r} timestamp")
    _validate_int(metric.step, f"metric {metric.key!r} step")
    if metric.model_id is not None:
        _require_str(metric.model_id, f"metric {metric.key!r} model_id")
    return metric


def validate_param(param: Param) -> Param:
    """A param: valid key, string value of at most 6,000 characters."""
    if not isinstance(param, Param):
        raise InvalidParameterError(f"param: expected a Param, got {type(param).__name__}")
    validate_key(param.key, "param key")
    _validate_value(param.value, f"param {param.key!r} value", MAX_PARAM_VALUE_LENGTH)
    return param


def validate_tag(key: object, value: object, what: str = "tag") -> None:
    """A tag: valid key, string value of at most 8,000 characters."""
    validate_key(key, f"{what} key")
    _validate_value(value, f"{what} {key!r} value", MAX_TAG_VALUE_LENGTH)


def validate_tags(tags: Optional[Mapping[str, str]], what: str = "tag") -> dict[str, str]:
    """Validate a mapping of tags and return it as a plain dict (empty for None)."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidParameterError(f"{what}s: expected a mapping of key to value")
    for key, value in tags.items():
        validate_tag(key, value, what)
    return dict(tags)


_get_key = operator.attrgetter("key")
_get_value = operator.attrgetter("value")
_get_timestamp = operator.attrgetter("timestamp")
_get_step = operator.attrgetter("step")
_get_model_id = operator.attrgetter("model_id")
_PLAIN_NUMBER_TYPES = frozenset({float, int})
_OPTIONAL_STR_TYPES = frozenset({str, type(None)})


def _int64s(values: Sequence[object]) -> bool:
    """True when every value is a plain ``int`` within the 64-bit range."""
    return {*map(type, values)} == {int} and -_INT64_MAX - 1 <= min(values) and max(values) <= _INT64_MAX  # type: ignore[type-var,operator]


def _plain_metrics_valid(metrics: list[Metric]) -> bool:
    """Fast path of the per-metric checks: True only when :func:`validate_metric` accepts every item.

    Whole-column checks (``map``/``set`` in C) replace per-item calls; anything
    unusual (subclasses, numeric types other than float/int, a bad key...)
    returns False so the per-item path decides and words the error.
    """
    if {*map(type, metrics)} != {Metric}:
        return False
    return plain_metric_columns_valid(
        map(_get_key, metrics),
        map(_get_value, metrics),
        list(map(_get_timestamp, metrics)),
        list(map(_get_step, metrics)),
        map(_get_model_id, metrics),
    )


def plain_metric_columns_valid(
    keys: Iterable[object],
    values: Iterable[object],
    timestamps: Sequence[object],
    steps: Sequence[object],
    model_ids: Iterable[object],
) -> bool:
    """The metric checks of :func:`validate_metric` over whole columns (bulk copies skip building
    :class:`Metric` objects): True only when every point would pass; False means "check item by
    item" (the per-item path decides and words the error)."""
    if not all(type(k) is str and _is_valid_key(k) for k in {*keys}):
        return False
    return (
        {*map(type, values)} <= _PLAIN_NUMBER_TYPES
        and _int64s(timestamps)
        and _int64s(steps)
        and {*map(type, model_ids)} <= _OPTIONAL_STR_TYPES
    )


def _plain_items_valid(items: list[Any], cls: type[Any], limit: int) -> bool:
    """Fast path of the per-param/per-tag checks: True only when every item is a ``cls``
    with a valid key and a string value within ``limit`` without NUL; anything else
    returns False so the per-item path decides and words the error."""
    for item in items:
        if type(item) is not cls:
            return False
        key, value = item.key, item.value
        if not (
            type(key) is str
            and _is_valid_key(key)
            and type(value) is str
            and len(value) <= limit
            and "\x00" not in value
            and surrogate_position(value) < 0
        ):
            return False
    return True


def validate_batch(metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()) -> None:
    """A whole ``log_batch``: counts within limits, every item valid, no key twice with different param values."""
    metrics, params, tags = list(metrics or ()), list(params or ()), list(tags or ())
    for field, items, limit in (
        ("metrics", metrics, MAX_METRICS_PER_BATCH),
        ("params", params, MAX_PARAMS_PER_BATCH),
        ("tags", tags, MAX_TAGS_PER_BATCH),
    ):
        if len(items) > limit:
            raise InvalidParameterError(f"log_batch {field}: {len(items)} items exceed the limit of {limit} per batch")
    if metrics and not _plain_metrics_valid(metrics):
        for m in metrics:
            validate_metric(m)
    plain_params = _plain_items_valid(params, Param, MAX_PARAM_VALUE_LENGTH)
    seen: dict[str, str] = {}
    for p in params:
        if not plain_params:
            validate_param(p)
        if p.key in seen and seen[p.key] != p.value:
            raise InvalidParameterError(
                f"param {p.key!r}: logged twice in one batch with different values {seen[p.key]!r} and {p.value!r}"
            )
        seen[p.key] = p.value
    if _plain_items_valid(tags, RunTag, MAX_TAG_VALUE_LENGTH):
        return
    for t in tags:
        if not isinstance(t, RunTag):
            raise InvalidParameterError(f"tag: expected a RunTag, got {type(t).__name__}")
        validate_tag(t.key, t.value)


def _validate_name(value: object, field: str, limit: int) -> str:
    value = _require_str(value, field)
    if not value.strip():
        raise InvalidParameterError(f"{field}: must not be empty")
    if len(value) > limit:
        raise InvalidParameterError(f"{field}: length {len(value)} exceeds the limit of {limit} characters")
    if _CONTROL_RE.search(value):
        raise InvalidParameterError(f"{field}: must not contain control characters")
    return refuse_surrogates(value, field)


def validate_experiment_name(name: object) -> str:
    """An experiment name: non-empty, at most 500 characters, no control characters."""
    return _validate_name(name, "experiment name", MAX_EXPERIMENT_NAME_LENGTH)


def validate_run_name(name: object) -> Optional[str]:
    """A run name (optional): at most 500 characters, no control characters."""
    if name is None:
        return None
    return _validate_name(name, "run name", MAX_RUN_NAME_LENGTH)


def validate_model_name(name: object) -> str:
    """A registered model name: non-empty, at most 500 characters, no '/' or control characters."""
    name = _validate_name(name, "registered model name", MAX_MODEL_NAME_LENGTH)
    if "/" in name:
        raise InvalidParameterError(f"registered model name {name!r}: must not contain '/'")
    return name


def validate_description(description: object) -> Optional[str]:
    """A description (optional): at most 65,535 characters and 65,535 bytes in UTF-8."""
    if description is None:
        return None
    return _check_text_bytes(_validate_value(description, "description", MAX_DESCRIPTION_LENGTH), "description")


def validate_alias(alias: object) -> str:
    """An alias: ``^[\\w\\-]+$``, at most 255 characters; ``latest`` and ``v<digits>`` are reserved."""
    alias = _require_str(alias, "alias")
    if not alias or len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameterError(f"alias: length {len(alias)} is outside 1..{MAX_ALIAS_LENGTH} characters")
    if not _ALIAS_RE.match(alias):
        raise InvalidParameterError(f"alias {alias!r}: may contain only letters, digits, underscores and dashes")
    if _RESERVED_ALIAS_RE.match(alias):
        raise InvalidParameterError(f"alias {alias!r}: 'latest' and 'v<digits>' are reserved")
    return alias


def validate_run_id(run_id: object) -> str:
    """A run id: 32 lowercase hexadecimal characters."""
    run_id = _require_str(run_id, "run_id")
    if not _RUN_ID_RE.match(run_id):
        raise InvalidParameterError(f"run_id {run_id[:64]!r}: must be 32 lowercase hexadecimal characters")
    return run_id


def validate_experiment_id(experiment_id: object) -> str:
    """An experiment id: a non-empty string of at most 64 characters without '/' or control characters."""
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        experiment_id = str(experiment_id)
    experiment_id = _require_str(experiment_id, "experiment_id")
    if (
        not experiment_id
        or len(experiment_id) > 64
        or "/" in experiment_id
        or ".." in experiment_id
        or _CONTROL_RE.search(experiment_id)
        or surrogate_position(experiment_id) >= 0
    ):
        raise InvalidParameterError(f"experiment_id {experiment_id[:64]!r}: is not a valid id")
    return experiment_id


def validate_version(version: object) -> str:
    """A model version number: a positive integer, given as int or decimal string."""
    text = str(version) if isinstance(version, int) and not isinstance(version, bool) else version
    text = _require_str(text, "version")
    if not text.isdigit() or not text.isascii() or int(text) < 1:
        raise InvalidParameterError(f"version {text[:40]!r}: must be a positive integer")
    return str(int(text))


def validate_model_version_source(
    source: object, run_id: object = None, model_id: object = None
) -> tuple[str, Optional[str], Optional[str]]:
    """Arguments of ``create_model_version``: a ``source`` valid for :func:`validate_artifact_source`,
    an optional run id, an optional logged-model id of at most 64 characters.  Returns them validated."""
    if not isinstance(source, str) or not source:
        raise InvalidParameterError("source: expected a non-empty string")
    validate_artifact_source(source)
    _check_text_bytes(source, "source")
    if run_id is not None:
        run_id = validate_run_id(run_id)
    if model_id is not None and (not isinstance(model_id, str) or not model_id or len(model_id) > MAX_MODEL_ID_LENGTH):
        raise InvalidParameterError(
            f"model_id: expected a non-empty string of at most {MAX_MODEL_ID_LENGTH} characters"
        )
    return source, run_id, model_id


_RUNS_SOURCE = re.compile(r"\Aruns:/+(?P<run_id>[^/]*)(?:/(?P<path>.*))?\Z", re.IGNORECASE | re.DOTALL)
_MODELS_SOURCE = re.compile(r"\Amodels:/+[^/]+(?:/[^/]+)?/?\Z", re.IGNORECASE)


def validate_artifact_source(source: object, field: str = "source") -> str:
    """A model version's ``source``: where ``models:/<name>/<version>`` reads its files.

    Refused with InvalidParameterError: an empty string, NUL, control
    characters or lone surrogates; a ``..`` path segment anywhere (after
    percent-decoding, ``/`` or ``\\`` separated), so a source never climbs out
    of the directory it names; ``runs:/`` without a valid run id or with an
    absolute artifact path; ``models:/`` other than ``models:/<name>/<version
    or alias>`` or ``models:/<logged model id>``.  The source is returned unchanged.
    """
    from urllib.parse import unquote

    if not isinstance(source, str) or not source:
        raise InvalidParameterError(f"{field}: expected a non-empty string")
    if "\x00" in source:
        raise InvalidParameterError(f"{field}: must not contain NUL characters")
    refuse_surrogates(source, field)
    if _CONTROL_RE.search(source):
        raise InvalidParameterError(f"{field}: must not contain control characters")
    lowered = source[:8].lower()
    if lowered.startswith("runs:"):
        match = _RUNS_SOURCE.match(source)
        if not match or not _RUN_ID_RE.match(match.group("run_id").lower()):
            raise InvalidParameterError(f"{field} {source[:200]!r}: expected runs:/<run_id>/<path>")
        validate_artifact_path(unquote(match.group("path") or ""), field)
        return source
    if lowered.startswith("models:") and not _MODELS_SOURCE.match(source):
        raise InvalidParameterError(
            f"{field} {source[:200]!r}: expected models:/<name>/<version or alias> or models:/<model id>"
        )
    decoded = unquote(source)
    if ".." in re.split(r"[\\/]+", decoded):
        raise InvalidParameterError(f"{field} {source[:200]!r}: must not contain '..' path segments")
    return source


def validate_user_id(user_id: object) -> Optional[str]:
    """A run's ``user_id`` (optional): a string of at most 256 characters."""
    if user_id is None:
        return None
    return _validate_value(user_id, "user_id", MAX_USER_ID_LENGTH)


def validate_millis(value: object, field: str) -> Optional[int]:
    """An optional time in integer milliseconds since the epoch (``start_time``, ``end_time``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{field}: expected an integer (milliseconds), got {type(value).__name__}")
    return _validate_int(value, field)


def validate_run_tags(tags: object, what: str = "tag") -> dict[str, str]:
    """Tags given to ``create_run``: a mapping of key to value, or a sequence of :class:`RunTag`
    (MLflow's shape); None means none.  Returns them validated as a plain dict (later entries win)."""
    if tags is None or isinstance(tags, Mapping):
        return validate_tags(tags, what)
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise InvalidParameterError(
            f"{what}s: expected a mapping of key to value or a sequence of RunTag, got {type(tags).__name__}"
        )
    out: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, RunTag):
            raise InvalidParameterError(f"{what}s: expected RunTag items, got {type(tag).__name__}")
        validate_tag(tag.key, tag.value, what)
        out[tag.key] = tag.value
    return out


def validate_dataset_input(item: object) -> DatasetInput:
    """One dataset input: a :class:`DatasetInput` whose dataset fields are within
    :data:`DATASET_LIMITS` (name, digest, source type and source non-empty), tags valid and
    the ``context`` tag at most 250 characters, all tags at most 65,535 bytes as JSON."""
    if not isinstance(item, DatasetInput) or not isinstance(item.dataset, Dataset):
        raise InvalidParameterError(f"datasets: expected DatasetInput items, got {type(item).__name__}")
    for name, limit in DATASET_LIMITS.items():
        value = getattr(item.dataset, name)
        if value is None and name not in _DATASET_REQUIRED:
            continue
        if not isinstance(value, str) or (name in _DATASET_REQUIRED and not value):
            raise InvalidParameterError(f"dataset {name}: expected a non-empty string")
        if len(value) > limit:
            raise InvalidParameterError(f"dataset {name}: length {len(value)} exceeds the limit of {limit} characters")
        if name in _DATASET_BYTES:
            _check_text_bytes(value, f"dataset {name}", MAX_DATASET_TEXT_BYTES)
        if "\x00" in value:
            raise InvalidParameterError(f"dataset {name}: must not contain NUL characters")
        refuse_surrogates(value, f"dataset {name}")
    tags = validate_tags(item.tags, "dataset input tag")
    if tags and sum(len(k) + len(v) for k, v in tags.items()) * 6 > MAX_TEXT_BYTES:
        size = len(json.dumps(tags))
        if size > MAX_TEXT_BYTES:
            raise InvalidParameterError(
                f"dataset input tags: {size} bytes as JSON exceed the limit of {MAX_TEXT_BYTES} bytes"
            )
    context = tags.get("context")
    if context is not None and len(context) > MAX_DATASET_CONTEXT_LENGTH:
        raise InvalidParameterError(
            f"dataset input tag 'context' value: length {len(context)} exceeds the limit of "
            f"{MAX_DATASET_CONTEXT_LENGTH} characters"
        )
    return item


def validate_dataset_inputs(datasets: object) -> list[DatasetInput]:
    """The ``datasets`` of ``log_inputs`` (a sequence, or one :class:`DatasetInput`), each validated."""
    if datasets is None:
        return []
    if isinstance(datasets, DatasetInput):
        return [validate_dataset_input(datasets)]
    if isinstance(datasets, (str, bytes)) or not isinstance(datasets, Iterable):
        raise InvalidParameterError(f"datasets: expected a sequence of DatasetInput, got {type(datasets).__name__}")
    return [validate_dataset_input(d) for d in datasets]


def validate_model_id(model_id: object) -> str:
    """A logged-model id: ``m-`` followed by letters and digits, at most 64 characters."""
    if not isinstance(model_id, str) or len(model_id) > MAX_MODEL_ID_LENGTH or not _MODEL_ID_RE.match(model_id):
        raise InvalidParameterError(
            f"model_id {str(model_id)[:80]!r}: is not a logged model id "
            f"('m-' and letters/digits, at most {MAX_MODEL_ID_LENGTH} characters)"
        )
    return model_id


def validate_logged_model_text(value: object, field: str) -> Optional[str]:
    """An optional logged-model ``name`` or ``model_type``: 1 to 500 characters."""
    if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_LOGGED_MODEL_TEXT_LENGTH):
        raise InvalidParameterError(
            f"logged model {field}: expected a string of 1..{MAX_LOGGED_MODEL_TEXT_LENGTH} characters"
        )
    return value if value is None else refuse_surrogates(value, f"logged model {field}")


def validate_artifact_location(value: object) -> Optional[str]:
    """An experiment's explicit ``artifact_location`` (optional): a non-empty string without NUL,
    at most 65,471 bytes in UTF-8 (a run's artifact URI appends ``/<run id>/artifacts``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidParameterError("artifact_location: expected a non-empty string")
    if "\x00" in value:
        raise InvalidParameterError("artifact_location: must not contain NUL characters")
    refuse_surrogates(value, "artifact_location")
    return _check_text_bytes(value, "artifact_location", MAX_TEXT_BYTES - 64)  # room for /<run id>/artifacts


def validate_max_results(max_results: object, cap: int = MAX_RESULTS_CAP) -> int:
    """``max_results``: None means the default (1,000); otherwise 1..cap (50,000)."""
    if max_results is None:
        return DEFAULT_MAX_RESULTS
    value = _validate_int(max_results, "max_results", minimum=1)
    if value > cap:
        raise InvalidParameterError(f"max_results: {value} exceeds the limit of {cap}")
    return value


def validate_artifact_path(path: object, field: str = "artifact_path") -> str:
    """A relative artifact path under the repository root, normalised to ``a/b/c``.

    Empty or None means the root and returns ``""``.  Absolute paths, drive
    letters, backslash tricks, ``..`` segments and NUL bytes are refused.
    """
    if path is None:
        return ""
    path = _require_str(path, field)
    if "\x00" in path:
        raise InvalidParameterError(f"{field}: must not contain NUL bytes")
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        raise InvalidParameterError(f"{field} {path!r}: must be relative to the artifact root")
    parts = re.split(r"[\\/]+", path)
    if any(p == ".." for p in parts):
        raise InvalidParameterError(f"{field} {path!r}: must not contain '..' segments")
    normalised = posixpath.normpath("/".join(p for p in parts if p not in ("", ".")) or ".")
    return "" if normalised == "." else normalised


def is_finite_number(value: float) -> bool:
    """True unless ``value`` is NaN or infinite."""
    return math.isfinite(value)


def iter_dict_tags(tags: Iterable[RunTag]) -> dict[str, str]:
    """Tags as a dict, later entries winning."""
    return {t.key: t.value for t in tags}
