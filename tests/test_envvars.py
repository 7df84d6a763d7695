"""storekit.envvars: numbers, durations and switches from the environment, parsed one way."""

from __future__ import annotations

import pytest

from storekit.artifacts.transfer import RetryPolicy
from storekit.async_logging import _exit_timeout, async_logging_enabled
from storekit.backends.file.atomic import fsync_enabled
from storekit.backends.sql.engine import statement_timeout
from storekit.envvars import env_flag, env_float, env_int, parse_flag, parse_float, parse_int
from storekit.errors import InvalidParameterError, InvalidSettingError
from storekit.search.limits import current_limits
from storekit.system_metrics import samples_before_logging, sampling_interval

VAR = "STOREKIT_TEST_HOUSE_VALUE"


def test_unset_and_blank_give_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_int(VAR, 7) == 7 and env_float(VAR, 1.5) == 1.5 and env_flag(VAR) is False
    monkeypatch.setenv(VAR, "  ")
    assert env_int(VAR, 7) == 7 and env_float(VAR, 1.5) == 1.5 and env_flag(VAR, True) is True


def test_values_within_range_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, " 12 ")
    assert env_int(VAR, 7, minimum=1, maximum=20) == 12
    assert env_float(VAR, 1.0, minimum=0, unit="seconds") == 12.0
    monkeypatch.setenv(VAR, "0.25")
    assert env_float(VAR, 1.0, minimum=0) == 0.25


@pytest.mark.parametrize("raw", ["lots", "1.5", "nan", "True"])
def test_malformed_whole_number_names_variable_and_range(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(InvalidSettingError, match=rf"{VAR}: .* \(accepted: 1\.\.20\)") as info:
        env_int(VAR, 7, minimum=1, maximum=20)
    assert isinstance(info.value, InvalidParameterError)  # callers catching the broader type still do


def test_out_of_range_names_variable_and_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "-3")
    with pytest.raises(InvalidSettingError, match=rf"{VAR}: -3\.0 is outside >= 0 seconds"):
        env_float(VAR, 1.0, minimum=0, unit="seconds")
    with pytest.raises(InvalidSettingError, match=rf"{VAR}: -3 is outside 1\.\.1000"):
        env_int(VAR, 1, minimum=1, maximum=1000)
    monkeypatch.setenv(VAR, "nan")
    with pytest.raises(InvalidSettingError, match="outside"):
        env_float(VAR, 1.0, minimum=0)


def test_fallback_keeps_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw in ("soon", "-1"):
        monkeypatch.setenv(VAR, raw)
        assert env_float(VAR, 120.0, minimum=0, fallback=True) == 120.0
        assert env_int(VAR, 5, minimum=1, fallback=True) == 5


def test_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for word in ("1", "true", "YES", " on "):
        monkeypatch.setenv(VAR, word)
        assert env_flag(VAR) is True
    for word in ("0", "false", "No", "off"):
        monkeypatch.setenv(VAR, word)
        assert env_flag(VAR, True) is False
    monkeypatch.setenv(VAR, "maybe")
    with pytest.raises(InvalidSettingError, match=rf"{VAR}: 'maybe' is not on or off \(accepted: 1/on/true/yes"):
        env_flag(VAR)
    assert parse_flag(True, "x") is True


def test_explicit_values_use_the_same_rules() -> None:
    assert parse_int("3", "n", minimum=1) == 3 and parse_int(4.0, "n") == 4
    assert parse_float(2, "t") == 2.0
    with pytest.raises(InvalidSettingError, match="n: 2.5 is not a whole number"):
        parse_int(2.5, "n")
    with pytest.raises(InvalidSettingError, match="t: True is not a number"):
        parse_float(True, "t")


def test_env_mapping_instead_of_process_environment() -> None:
    assert env_int("X", 1, env={"X": "9"}) == 9
    assert env_flag("X", env={"X": "on"}) is True


# --- the modules that read the environment, through the helper ---------------------------------


def test_every_reader_refuses_or_keeps_default_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    # bounds a typo must not turn off: the default stays
    monkeypatch.setenv("STOREKIT_SQL_STATEMENT_TIMEOUT", "-5")
    assert statement_timeout() == 120.0
    monkeypatch.setenv("STOREKIT_ASYNC_EXIT_TIMEOUT", "soon")
    assert _exit_timeout() == 60.0
    monkeypatch.setenv("STOREKIT_ASYNC_EXIT_TIMEOUT", "2.5")
    assert _exit_timeout() == 2.5
    monkeypatch.setenv("STOREKIT_SEARCH_MAX_IN_VALUES", "-1")
    assert current_limits().max_in_values == type(current_limits())().max_in_values
    monkeypatch.setenv("STOREKIT_SEARCH_MAX_IN_VALUES", "17")
    assert current_limits().max_in_values == 17
    # everything else: a typed error naming the variable and the range
    monkeypatch.setenv("STOREKIT_ARTIFACT_RETRIES", "0")
    with pytest.raises(InvalidSettingError, match=r"STOREKIT_ARTIFACT_RETRIES: 0 is outside >= 1"):
        RetryPolicy.from_env()
    monkeypatch.setenv("STOREKIT_ARTIFACT_RETRIES", "3")
    monkeypatch.setenv("STOREKIT_ARTIFACT_RETRY_DELAY", "0.5")
    assert RetryPolicy.from_env() == RetryPolicy(attempts=3, base_delay=0.5)
    monkeypatch.setenv("STOREKIT_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1001")
    with pytest.raises(InvalidSettingError, match=r"SAMPLES_BEFORE_LOGGING: 1001 is outside 1\.\.1000"):
        samples_before_logging()
    with pytest.raises(InvalidSettingError, match=r"SAMPLING_INTERVAL: 0\.01 is outside 0\.05\.\.3600 seconds"):
        sampling_interval(0.01)
    monkeypatch.setenv("STOREKIT_ASYNC_LOGGING", "yes")
    assert async_logging_enabled() is True
    monkeypatch.setenv("STOREKIT_FILE_FSYNC", "sometimes")
    with pytest.raises(InvalidSettingError, match="STOREKIT_FILE_FSYNC"):
        fsync_enabled()
