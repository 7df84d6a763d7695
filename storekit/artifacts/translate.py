"""Translation of native storage errors into storekit's error tree.

Every artifact repository funnels the exceptions of its library (``OSError``
from the OS or fsspec, botocore, azure, paramiko, pyarrow ...) through
:func:`translate_error` at its boundary.  Messages name the artifact path and
the redacted repository URI, never a credential: known secret values are
scrubbed from the native message, and a native exception whose message held a
secret is not chained.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from ..errors import (
    ArtifactNotFound,
    BackendUnavailableError,
    InvalidParameterError,
    StorekitError,
)
from ..uri import redact_uri, uri_secrets

__all__ = ["IncompleteTransferError", "scrub", "translate_error"]

# secrets that may show up in native messages whatever the backend
_SECRET_PATTERNS = [
    re.compile(r"(?i)((?:AccountKey|SharedAccessSignature|SharedAccessKey|Password|pwd)=)[^;&\s'\"]+"),
    re.compile(r"(?i)(\b(?:sig|signature|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s'\"]+"),
    re.compile(r"(?i)((?:aws_secret_access_key|secret_key|account_key|sas_token)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
]
_MAX_MESSAGE = 400


class IncompleteTransferError(BackendUnavailableError):
    """A transfer ended with a size (or checksum) different from the source's."""


def scrub(text: str, secrets: Iterable[Optional[str]] = ()) -> str:
    """``text`` with every known secret value and secret-looking assignment replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


def _describe(exc: BaseException, secrets: Iterable[Optional[str]]) -> tuple[str, bool]:
    raw = str(exc)
    clean = scrub(raw, secrets)
    if len(clean) > _MAX_MESSAGE:
        clean = clean[:_MAX_MESSAGE] + "..."
    text = f"{type(exc).__name__}: {clean}" if clean else type(exc).__name__
    return text, clean == raw  # chained only when scrubbing changed nothing


def translate_error(
    exc: BaseException,
    *,
    uri: str,
    path: str = "",
    operation: str = "access",
    transient: bool = False,
    secrets: Iterable[Optional[str]] = (),
) -> StorekitError:
    """The storekit error for native ``exc`` raised while ``operation``-ing ``path`` under ``uri``.

    ``transient`` says the repository classified ``exc`` as transient (the
    retries are used up by now), which makes it a :class:`BackendUnavailableError`.
    """
    if isinstance(exc, StorekitError):
        return exc
    secrets = [*uri_secrets(uri), *secrets]  # the URI's own password/tokens, whatever the plugin names
    where = f"{path!r} under {redact_uri(uri)}" if path else redact_uri(uri)
    detail, safe = _describe(exc, secrets)
    err: StorekitError
    if isinstance(exc, FileNotFoundError):
        err = ArtifactNotFound(f"artifact {where}: not found ({detail})")
    elif transient or isinstance(exc, (ConnectionError, TimeoutError)):
        err = BackendUnavailableError(
            f"artifact storage unavailable while trying to {operation} {where} after retries: {detail}"
        )
    elif isinstance(exc, PermissionError):
        err = BackendUnavailableError(
            f"access denied (credentials refused?) while trying to {operation} {where}: {detail}"
        )
    elif isinstance(exc, (IsADirectoryError, NotADirectoryError, FileExistsError)):
        err = InvalidParameterError(f"artifact_path {where}: cannot {operation} ({detail})")
    else:
        err = StorekitError(f"could not {operation} artifact {where}: {detail}")
    err.__cause__ = exc if safe else None
    err.__suppress_context__ = True
    return err
