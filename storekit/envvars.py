"""Numbers, durations and on/off switches read from environment variables, parsed one way.

Every tunable of storekit and its plugins that comes from the environment
(search limits, the SQL statement timeout, the async exit timeout, the
transfer engine, the http/s3/sftp/azure timeouts, system metrics...) is read
through these functions, so a value is understood the same way everywhere
and a bad one is refused with :class:`~storekit.errors.InvalidSettingError`
naming the variable and the accepted range.

Unset and empty variables mean "use the default".  Where a typo must never
turn a safety bound off (search limits, the statement timeout, the exit
flush), callers pass ``fallback=True``: a malformed or out-of-range value
then keeps the default instead of raising.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional, TypeVar

from .errors import InvalidSettingError

__all__ = [
    "TRUE_WORDS",
    "FALSE_WORDS",
    "parse_flag",
    "parse_int",
    "parse_float",
    "env_flag",
    "env_int",
    "env_float",
    "env_text",
]

#: Values that switch a flag on (compared case-insensitively, surrounding blanks ignored).
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
#: Values that switch a flag off.
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

N = TypeVar("N", int, float)


def _range_text(minimum: Optional[float], maximum: Optional[float], unit: str) -> str:
    suffix = f" {unit}" if unit else ""
    if minimum is not None and maximum is not None:
        return f"{minimum:g}..{maximum:g}{suffix}"
    if minimum is not None:
        return f">= {minimum:g}{suffix}"
    if maximum is not None:
        return f"<= {maximum:g}{suffix}"
    return f"any{suffix}"


def _parse(
    raw: Any,
    name: str,
    convert: Callable[[Any], N],
    kind: str,
    minimum: Optional[float],
    maximum: Optional[float],
    unit: str,
) -> N:
    accepted = _range_text(minimum, maximum, unit)
    if isinstance(raw, bool):
        raise InvalidSettingError(f"{name}: {raw!r} is not {kind} (accepted: {accepted})")
    try:
        value = convert(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError, OverflowError):
        raise InvalidSettingError(f"{name}: {raw!r} is not {kind} (accepted: {accepted})") from None
    if value != value or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidSettingError(f"{name}: {value!r} is outside {accepted}")
    return value


def _to_int(raw: Any) -> int:
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    return int(raw)


def parse_int(
    raw: Any, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None, unit: str = ""
) -> int:
    """``raw`` (a string or a number) as a whole number within ``minimum..maximum``.

    Raises :class:`InvalidSettingError` naming ``name`` and the accepted range otherwise.
    """
    return _parse(raw, name, _to_int, "a whole number", minimum, maximum, unit)


def parse_float(
    raw: Any, name: str, *, minimum: Optional[float] = None, maximum: Optional[float] = None, unit: str = ""
) -> float:
    """``raw`` (a string or a number) as a number within ``minimum..maximum`` (NaN refused).

    Raises :class:`InvalidSettingError` naming ``name`` and the accepted range otherwise.
    """
    return _parse(raw, name, float, "a number", minimum, maximum, unit)


def parse_flag(raw: Any, name: str) -> bool:
    """``raw`` as on/off: one of :data:`TRUE_WORDS` or :data:`FALSE_WORDS` (or a bool).

    Raises :class:`InvalidSettingError` naming ``name`` and the accepted words otherwise.
    """
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    accepted = "/".join(sorted(TRUE_WORDS)) + " or " + "/".join(sorted(FALSE_WORDS))
    raise InvalidSettingError(f"{name}: {raw!r} is not on or off (accepted: {accepted})")


def env_text(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The variable's value with surrounding blanks removed; None when it is unset or blank."""
    raw = (os.environ if env is None else env).get(name)
    if raw is None or not raw.strip():
        return None
    return raw.strip()


def env_flag(name: str, default: bool = False, *, env: Optional[Mapping[str, str]] = None) -> bool:
    """The on/off switch ``name`` (:func:`parse_flag`); ``default`` when unset or blank."""
    raw = env_text(name, env)
    return default if raw is None else parse_flag(raw, name)


def _env_number(
    parse: Callable[..., N],
    name: str,
    default: N,
    minimum: Optional[float],
    maximum: Optional[float],
    unit: str,
    fallback: bool,
    env: Optional[Mapping[str, str]],
) -> N:
    raw = env_text(name, env)
    if raw is None:
        return default
    try:
        return parse(raw, name, minimum=minimum, maximum=maximum, unit=unit)
    except InvalidSettingError:
        if fallback:
            return default
        raise


def env_int(
    name: str,
    default: int,
    *,
    minimum: Optional[int] = None,
    maximum: Optional[int] = None,
    unit: str = "",
    fallback: bool = False,
    env: Optional[Mapping[str, str]] = None,
) -> int:
    """The whole number in ``name`` (:func:`parse_int`); ``default`` when unset or blank.

    ``fallback=True`` keeps ``default`` for a malformed or out-of-range value instead of raising.
    """
    return _env_number(parse_int, name, default, minimum, maximum, unit, fallback, env)


def env_float(
    name: str,
    default: float,
    *,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    unit: str = "",
    fallback: bool = False,
    env: Optional[Mapping[str, str]] = None,
) -> float:
    """The number in ``name`` (:func:`parse_float`); ``default`` when unset or blank.

    For durations pass ``minimum=0, unit="seconds"``.  ``fallback=True`` keeps
    ``default`` for a malformed or out-of-range value instead of raising.
    """
    return _env_number(parse_float, name, default, minimum, maximum, unit, fallback, env)
