"""MLflow's search syntax rewrite (storekit.search.mlflow_syntax) on arbitrary text: never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storekit.errors import InvalidParameterError
from storekit.search.mlflow_syntax import (
    MODEL_VERSION_ALIASES,
    REGISTERED_MODEL_ALIASES,
    registry_filter,
    rewrite,
    rewrite_order_by,
)


def test_non_ascii_digits_are_not_numbers() -> None:
    # '²'.isdigit() is True, but it is no \d: the rewrite once asserted on it
    assert rewrite("×ðñ·²") == "×ðñ·²"
    assert rewrite_order_by(["", "x²", "metrics.a² DESC"]) == ["x²", "metrics.a² DESC"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_rewrite_never_crashes(text: str) -> None:
    out = rewrite(text)
    assert out is None or isinstance(out, str)
    rewrite_order_by([text, text])
    for aliases in (REGISTERED_MODEL_ALIASES, MODEL_VERSION_ALIASES):
        try:
            registry_filter(text + " AND tag.`mlflow.prompt.is_prompt` != 'true'", aliases)
        except InvalidParameterError:
            pass
