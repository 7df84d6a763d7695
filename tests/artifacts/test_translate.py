"""Native artifact errors become storekit's typed errors, with the path, the redacted URI and no secret.

Every artifact repository (local and the remote plugins) funnels its library's
exceptions through :func:`storekit.artifacts.translate.translate_error`; these
tests pin the class each native error becomes, the exact message, and when the
native exception is chained (only when its text held no secret).
"""

from __future__ import annotations

import pytest

from storekit.artifacts.translate import IncompleteTransferError, scrub, translate_error
from storekit.errors import (
    ArtifactNotFound,
    BackendUnavailableError,
    InvalidParameterError,
    NotFoundError,
    StorekitError,
)

URI = "s3://bucket/root"
SECRET_URI = "https://user:hunter22@host/root?sig=sigvalue1&sv=2020&token=tok1234"


# --- scrub -----------------------------------------------------------------------------
def test_scrub_replaces_known_secret_values() -> None:
    assert scrub("key abcd and abcdef", ["abcd"]) == "key *** and ***ef"
    assert scrub("nothing here", ["zzzz", None, ""]) == "nothing here"


def test_scrub_leaves_values_shorter_than_four_characters() -> None:
    # a three-character "secret" would blank out ordinary words: it is not replaced
    assert scrub("abc abcd", ["abc"]) == "abc abcd"
    assert scrub("abc abcd", ["abcd"]) == "abc ***"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0;x=1", "DefaultEndpointsProtocol=https;AccountKey=***;x=1"),
        ("SharedAccessSignature=sv=1&sig=abc", "SharedAccessSignature=***&sig=***"),
        ("Password=pw1;pwd=pw2", "Password=***;pwd=***"),
        ("GET /x?X-Amz-Signature=deadbeef&a=1", "GET /x?X-Amz-Signature=***&a=1"),
        ("X-Amz-Credential=AKIA/x X-Amz-Security-Token=tok", "X-Amz-Credential=*** X-Amz-Security-Token=***"),
        ("url?signature=s1&sig=s2", "url?signature=***&sig=***"),
        ("{'aws_secret_access_key': 'wJalr', 'region': 'x'}", "{'aws_secret_access_key': '***', 'region': 'x'}"),
        ('secret_key="abc1" account_key=def2, sas_token: ghi3', 'secret_key="***" account_key=***, sas_token: ***'),
        ("no secrets at all", "no secrets at all"),
    ],
)
def test_scrub_replaces_secret_looking_assignments(text: str, expected: str) -> None:
    assert scrub(text) == expected


# --- translate_error: which class -------------------------------------------------------------
def test_storekit_errors_pass_through_unchanged() -> None:
    err = InvalidParameterError("already translated")
    assert translate_error(err, uri=URI, path="p") is err


def test_missing_file_is_artifact_not_found() -> None:
    err = translate_error(FileNotFoundError("no such key"), uri=URI, path="model/x.pkl")
    assert type(err) is ArtifactNotFound and isinstance(err, NotFoundError)
    assert str(err) == "artifact 'model/x.pkl' under s3://bucket/root: not found (FileNotFoundError: no such key)"


def test_without_a_path_the_message_names_the_uri_only() -> None:
    err = translate_error(FileNotFoundError("gone"), uri=URI)
    assert str(err) == "artifact s3://bucket/root: not found (FileNotFoundError: gone)"


@pytest.mark.parametrize("exc", [ConnectionError("reset"), TimeoutError("slow")])
def test_connection_and_timeout_errors_are_backend_unavailable(exc: Exception) -> None:
    err = translate_error(exc, uri=URI, path="a", operation="download")
    assert type(err) is BackendUnavailableError
    assert str(err) == (
        f"artifact storage unavailable while trying to download 'a' under s3://bucket/root after retries: "
        f"{type(exc).__name__}: {exc}"
    )


def test_transient_errors_of_any_class_are_backend_unavailable() -> None:
    err = translate_error(OSError("503 slow down"), uri=URI, path="a", operation="upload", transient=True)
    assert type(err) is BackendUnavailableError
    assert "while trying to upload 'a'" in str(err) and "after retries" in str(err)
    # not transient: the same error is a plain storekit error
    plain = translate_error(OSError("503 slow down"), uri=URI, path="a", operation="upload")
    assert type(plain) is StorekitError
    assert str(plain) == "could not upload artifact 'a' under s3://bucket/root: OSError: 503 slow down"


def test_permission_denied_is_backend_unavailable_saying_so() -> None:
    err = translate_error(PermissionError("403 Forbidden"), uri=URI, path="a", operation="list")
    assert type(err) is BackendUnavailableError
    assert str(err) == (
        "access denied (credentials refused?) while trying to list 'a' under s3://bucket/root: "
        "PermissionError: 403 Forbidden"
    )


@pytest.mark.parametrize("cls", [IsADirectoryError, NotADirectoryError, FileExistsError])
def test_path_shape_errors_are_invalid_parameters(cls: type[OSError]) -> None:
    err = translate_error(cls("bad shape"), uri=URI, path="a/b", operation="delete")
    assert type(err) is InvalidParameterError
    assert str(err) == f"artifact_path 'a/b' under s3://bucket/root: cannot delete ({cls.__name__}: bad shape)"


def test_other_errors_are_storekit_errors_with_the_default_operation() -> None:
    err = translate_error(RuntimeError("boom"), uri=URI, path="a")
    assert type(err) is StorekitError
    assert str(err) == "could not access artifact 'a' under s3://bucket/root: RuntimeError: boom"


def test_an_error_without_text_is_named_by_its_class() -> None:
    err = translate_error(RuntimeError(), uri=URI, path="a")
    assert str(err) == "could not access artifact 'a' under s3://bucket/root: RuntimeError"
    assert err.__cause__ is not None


def test_long_native_messages_are_cut_at_400_characters() -> None:
    exact = translate_error(RuntimeError("x" * 400), uri=URI)
    assert str(exact).endswith(": RuntimeError: " + "x" * 400)
    longer = translate_error(RuntimeError("y" * 401), uri=URI)
    assert str(longer).endswith(": RuntimeError: " + "y" * 400 + "...")


# --- secrets and chaining ---------------------------------------------------------------
def test_a_safe_native_error_is_chained_and_the_context_suppressed() -> None:
    native = RuntimeError("plain")
    err = translate_error(native, uri=URI, path="a")
    assert err.__cause__ is native and err.__suppress_context__ is True


def test_the_uris_own_secrets_are_scrubbed_and_the_native_error_not_chained() -> None:
    native = RuntimeError("auth failed for hunter22 with tok1234 and sigvalue1")
    err = translate_error(native, uri=SECRET_URI, path="a")
    text = str(err)
    for secret in ("hunter22", "tok1234", "sigvalue1"):
        assert secret not in text
    assert "RuntimeError: auth failed for *** with *** and ***" in text
    assert "'a' under https://user:***@host/root?" in text
    assert err.__cause__ is None and err.__suppress_context__ is True


def test_secrets_named_by_the_plugin_are_scrubbed() -> None:
    err = translate_error(RuntimeError("key=plugin-secret-1 refused"), uri=URI, secrets=["plugin-secret-1"])
    assert "plugin-secret-1" not in str(err) and "key=*** refused" in str(err)
    assert err.__cause__ is None


def test_incomplete_transfer_is_a_backend_unavailable_error() -> None:
    assert issubclass(IncompleteTransferError, BackendUnavailableError)
