"""Translation of native file-system errors into storekit errors.

Every file operation of the file backend runs inside :func:`translated`, so
callers see :class:`~storekit.errors.BackendUnavailableError` (disk full,
permission refused, read-only file system, ...) with a message naming the
operation and the file, never a bare :class:`OSError`.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from typing import Iterator, Union

from ...errors import BackendUnavailableError, StorekitError

__all__ = ["translated", "describe_os_error"]

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files in the system",
    errno.EIO: "input/output error",
    errno.ENAMETOOLONG: "file name too long",
}


def describe_os_error(exc: OSError) -> str:
    """A short human description of an OSError's cause."""
    reason = _REASONS.get(exc.errno or -1)
    if reason:
        return reason
    return exc.strerror or type(exc).__name__


@contextmanager
def translated(action: str, path: Union[str, "os.PathLike[str]"]) -> Iterator[None]:
    """Turn an :class:`OSError` raised inside the block into a storekit error.

    ``action`` says what was being done ("writing", "reading", ...) and
    ``path`` which file it was done to; both appear in the message.
    """
    try:
        yield
    except StorekitError:
        raise
    except OSError as exc:
        raise BackendUnavailableError(
            f"file store: {action} {os.fspath(path)} failed: {describe_os_error(exc)} (errno {exc.errno})"
        ) from exc
