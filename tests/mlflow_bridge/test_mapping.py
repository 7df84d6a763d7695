"""URI wrapping, MLflow's search syntax and error codes: the bridge's pure mappings."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException, MlflowNotImplementedException
from mlflow.protos import databricks_pb2

import storekit as sk
from storekit.search import MODEL_VERSION_SCHEMA, REGISTERED_MODEL_SCHEMA, RUN_SCHEMA, parse_filter, parse_order_by
from storekit_mlflow import errors, filters, uris

# ------------------------------------------------------------------ URIs


@pytest.mark.parametrize(
    ("uri", "native"),
    [
        ("storekit:sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("storekit:postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("storekit:/abs/dir", "/abs/dir"),
        ("storekit:///abs/dir", "/abs/dir"),
        ("storekit:file:///abs/dir", "file:///abs/dir"),
        ("storekit:s3://bucket/prefix", "s3://bucket/prefix"),
        ("STOREKIT:./rel", "./rel"),
        ("storekit:", None),
    ],
)
def test_unwrap(uri: str, native: str) -> None:
    assert uris.unwrap(uri) == native


def test_unwrap_refuses_other_uris_and_authorities() -> None:
    with pytest.raises(sk.InvalidParameterError, match="storekit bridge URI"):
        uris.unwrap("sqlite:///x.db")
    with pytest.raises(sk.InvalidParameterError, match="authority"):
        uris.unwrap("storekit://host/x")


def test_wrap_artifact_uri_only_for_schemes_storekit_serves() -> None:
    assert uris.wrap_artifact_uri("/abs/a/1") == "storekit:/abs/a/1"
    assert uris.wrap_artifact_uri("file:///abs/a") == "storekit:file:///abs/a"
    assert uris.wrap_artifact_uri("s3://b/p") == "storekit:s3://b/p"
    # MLflow-only schemes and MLflow's own indirections stay as they are
    assert uris.wrap_artifact_uri("mlflow-artifacts:/1/abc") == "mlflow-artifacts:/1/abc"
    assert uris.wrap_artifact_uri("models:/m-123") == "models:/m-123"
    assert uris.wrap_artifact_uri("runs:/abc/model") == "runs:/abc/model"
    assert uris.wrap_artifact_uri("storekit:/x") == "storekit:/x"
    assert uris.wrap_artifact_uri(None) is None


def test_mlflow_appends_paths_to_wrapped_uris() -> None:
    from mlflow.utils.uri import append_to_uri_path

    for root in ("storekit:/abs/x", "storekit:///abs/x"):
        assert uris.unwrap(append_to_uri_path(root, "model", "MLmodel")) == "/abs/x/model/MLmodel"
    assert uris.unwrap(append_to_uri_path("storekit:s3://b/p", "model")) == "s3://b/p/model"


# ------------------------------------------------------------------ filters


@pytest.mark.parametrize(
    ("mlflow_filter", "storekit_filter"),
    [
        ("tags.mlflow.runName = 'a'", "tags.`mlflow.runName` = 'a'"),
        ("tags.`mlflow.runName` = 'a'", "tags.`mlflow.runName` = 'a'"),
        ("tags.\"my key\" = 'a'", "tags.`my key` = 'a'"),
        ("attributes.run_name = 'x'", "attributes.run_name = 'x'"),
        ("attributes.`Run name` = 'x'", "attributes.run_name = 'x'"),
        ("attribute.created > 5", "attributes.start_time > 5"),
        ("run.Created > 5", "attributes.start_time > 5"),
        ("parameters.lr = '0.1' and parameter.x != 'y'", "params.lr = '0.1' and params.x != 'y'"),
        ("attributes.run_id IN ('a', 'b')", "attributes.run_id IN ('a', 'b')"),
        ("datasets.context = 'training'", "datasets.context = 'training'"),
        ("metrics.acc >= 0.5 AND tags.a.b.c LIKE 'x.y%'", "metrics.acc >= 0.5 AND tags.`a.b.c` LIKE 'x.y%'"),
        ("params.p = 'tags.a.b'", "params.p = 'tags.a.b'"),  # literals are never rewritten
        ("metrics.`a b` > 1e-3", "metrics.`a b` > 1e-3"),
    ],
)
def test_run_filter_rewrite(mlflow_filter: str, storekit_filter: str) -> None:
    rewritten = filters.rewrite(mlflow_filter, filters.RUN_ALIASES)
    assert rewritten == storekit_filter
    parse_filter(rewritten, RUN_SCHEMA)  # storekit's parser accepts it


def test_blank_filters_are_none() -> None:
    assert filters.rewrite(None) is None
    assert filters.rewrite("   ") is None
    assert filters.rewrite_order_by([]) is None


def test_order_by_rewrite() -> None:
    clauses = filters.rewrite_order_by(
        ["attributes.start_time DESC", "tags.mlflow.runName", "metrics.`val loss` ASC", "created"]
    )
    assert clauses == ["attributes.start_time DESC", "tags.`mlflow.runName`", "metrics.`val loss` ASC", "start_time"]
    parse_order_by(clauses, RUN_SCHEMA)


def test_registry_aliases_and_prompt_clause() -> None:
    mv = filters.registry_filter(
        "name = 'm' AND version_number > 1 AND source_path LIKE 's3%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
        filters.MODEL_VERSION_ALIASES,
    )
    assert "NOT" in mv and "!=" not in mv
    expr = parse_filter(mv, MODEL_VERSION_SCHEMA)
    assert expr is not None
    rm = filters.registry_filter("tags.`mlflow.prompt.is_prompt` != 'true'", filters.REGISTERED_MODEL_ALIASES)
    assert parse_filter(rm, REGISTERED_MODEL_SCHEMA) is not None
    assert filters.rewrite_order_by(["timestamp DESC"], filters.REGISTERED_MODEL_ALIASES) == ["creation_timestamp DESC"]


def test_logged_model_order_by_dicts() -> None:
    assert filters.logged_model_order_by(
        [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "d"}, {"field_name": "creation_time"}]
    ) == ["metrics.acc DESC", "creation_timestamp ASC"]
    assert filters.logged_model_order_by(None) is None


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (sk.InvalidParameterError("x"), "INVALID_PARAMETER_VALUE"),
        (sk.RunNotFound("x"), "RESOURCE_DOES_NOT_EXIST"),
        (sk.ExperimentNotFound("x"), "RESOURCE_DOES_NOT_EXIST"),
        (sk.ModelVersionNotFound("x"), "RESOURCE_DOES_NOT_EXIST"),
        (sk.LoggedModelNotFound("x"), "RESOURCE_DOES_NOT_EXIST"),
        (sk.ArtifactNotFound("x"), "RESOURCE_DOES_NOT_EXIST"),
        (sk.AlreadyExistsError("x"), "RESOURCE_ALREADY_EXISTS"),
        (sk.UnknownSchemeError("x"), "INVALID_PARAMETER_VALUE"),
        (sk.UnsupportedOperationError("x"), "NOT_IMPLEMENTED"),
        (sk.BackendUnavailableError("x"), "TEMPORARILY_UNAVAILABLE"),
        (sk.SchemaOutOfDateError("x"), "INVALID_STATE"),
        (sk.PluginLoadError("x"), "INTERNAL_ERROR"),
        (sk.StoreCorruptionError("x"), "INTERNAL_ERROR"),
    ],
)
def test_error_codes(error: sk.StorekitError, code: str) -> None:
    with pytest.raises(MlflowException) as info:
        with errors.translate_errors():
            raise error
    assert info.value.error_code == code
    assert (
        info.value.get_http_status_code() == MlflowException("", getattr(databricks_pb2, code)).get_http_status_code()
    )
    assert info.value.__cause__ is error
    if code == "NOT_IMPLEMENTED":
        assert isinstance(info.value, MlflowNotImplementedException)
        assert info.value.get_http_status_code() == 501


def test_every_storekit_error_class_is_mapped_on_purpose() -> None:
    mapped = {cls for cls, _ in errors.ERROR_CODES}
    for name in sk.errors.__all__:
        cls = getattr(sk.errors, name)
        assert any(issubclass(cls, m) for m in mapped) or cls in (sk.StorekitError, sk.StoreCorruptionError), name


def test_non_storekit_errors_pass_through() -> None:
    with pytest.raises(KeyError):
        with errors.translate_errors():
            raise KeyError("x")


def test_unwrap_location_makes_relative_paths_absolute(tmp_path, monkeypatch) -> None:
    import os

    monkeypatch.chdir(tmp_path)
    assert uris.unwrap_location("storekit:./art") == os.path.join(str(tmp_path), "art")
    assert uris.unwrap_location("./art") == os.path.join(str(tmp_path), "art")
    assert uris.unwrap_location("storekit:s3://b/p") == "s3://b/p"
    assert uris.unwrap_location("mlflow-artifacts:/") == "mlflow-artifacts:/"
    assert uris.unwrap_location("file:///x/y") == "file:///x/y"
    assert uris.unwrap_location(None) is None and uris.unwrap_location("storekit:") is None
