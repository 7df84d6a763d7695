"""The ``git`` context provider: the checkout a run was started from.

Runs the ``git`` command (no GitPython dependency) in the current working
directory, each call with a short timeout.  Outside a git work tree, or
without ``git`` installed, the provider is simply not in context.

Tags: ``storekit.git.commit``, ``storekit.git.branch`` (absent on a detached
HEAD), ``storekit.git.repoURL`` (the ``origin`` remote, else the first
remote, with any credentials removed) and ``storekit.git.dirty``
(``"true"``/``"false"``: uncommitted changes to tracked files).
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any, ClassVar, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from ..uri import redact_uri
from . import BuiltinContextProvider

__all__ = ["GitContextProvider", "strip_credentials", "GIT_TIMEOUT_S"]

#: Seconds each ``git`` call may take before it is abandoned.
GIT_TIMEOUT_S = 3.0


def strip_credentials(url: str) -> str:
    """Remove user names, passwords and tokens from a remote URL.

    ``https://user:token@host/repo.git`` becomes ``https://host/repo.git``;
    secret-looking query parameters are redacted.  scp-like SSH remotes
    (``git@host:org/repo.git``) carry no secret and are kept as they are.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//", url)
    netloc = parts.netloc.rpartition("@")[2]
    return redact_uri(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


class GitContextProvider(BuiltinContextProvider):
    """Tags the git commit, branch, remote URL (credentials stripped) and dirty flag."""

    priority: ClassVar[int] = 30

    def __init__(self, uri: Optional[str] = None, path: Optional[str] = None, **options: Any) -> None:
        super().__init__(uri, **options)
        #: Directory whose work tree is described; None means the current directory.
        self.path = path

    def _git(self, *args: str) -> Optional[str]:
        """Output of ``git <args>`` (stripped), or None if it fails or times out."""
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.path or os.getcwd(),
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_S,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode != 0:
            return None
        return proc.stdout.strip()

    def in_context(self) -> bool:
        """True inside a git work tree (and with ``git`` installed)."""
        return self._git("rev-parse", "--is-inside-work-tree") == "true"

    def _remote_url(self) -> Optional[str]:
        remotes = (self._git("remote") or "").split()
        if not remotes:
            return None
        name = "origin" if "origin" in remotes else remotes[0]
        url = self._git("remote", "get-url", name)
        return strip_credentials(url) if url else None

    def raw_tags(self) -> Mapping[str, Optional[str]]:
        """Commit, branch, remote URL and dirty flag; unknown ones are left out."""
        status = self._git("status", "--porcelain", "--untracked-files=no")
        branch = self._git("rev-parse", "--abbrev-ref", "HEAD")
        return {
            "storekit.git.commit": self._git("rev-parse", "HEAD"),
            "storekit.git.branch": None if branch in (None, "HEAD") else branch,
            "storekit.git.repoURL": self._remote_url(),
            "storekit.git.dirty": None if status is None else ("true" if status else "false"),
        }
