"""The ``source`` context provider: which program started the run, and how.

``storekit.source.name`` is the entry-point script (``sys.argv[0]``, made
absolute when it is a file).  ``storekit.source.type`` is one of:

* ``NOTEBOOK`` - inside a Jupyter/IPython kernel;
* ``JOB`` - under a batch scheduler or CI system (one of :data:`JOB_ENV_VARS`
  is set);
* ``LOCAL`` - anything else.

``STOREKIT_SOURCE_TYPE`` overrides the detected type.
"""

from __future__ import annotations

import os
import sys
from typing import ClassVar, Mapping, Optional

from . import BuiltinContextProvider

__all__ = ["SourceContextProvider", "source_name", "source_type", "JOB_ENV_VARS", "SOURCE_TYPES"]

SOURCE_TYPES = ("LOCAL", "NOTEBOOK", "JOB")

#: Environment variables whose presence means the process runs as a job.
JOB_ENV_VARS = (
    "SLURM_JOB_ID",
    "PBS_JOBID",
    "LSB_JOBID",
    "JOB_ID",  # Grid Engine
    "AWS_BATCH_JOB_ID",
    "KUBERNETES_SERVICE_HOST",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "JENKINS_URL",
)


def source_name() -> Optional[str]:
    """The entry-point script: absolute path of ``sys.argv[0]`` if it is a file, else its text."""
    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0:
        return "<interactive>"
    if os.path.isfile(argv0):
        return os.path.abspath(argv0)
    return argv0


def source_type() -> str:
    """``NOTEBOOK``, ``JOB`` or ``LOCAL`` (see the module docstring)."""
    override = os.environ.get("STOREKIT_SOURCE_TYPE", "").strip().upper()
    if override in SOURCE_TYPES:
        return override
    if "ipykernel" in sys.modules:
        return "NOTEBOOK"
    if any(os.environ.get(var) for var in JOB_ENV_VARS):
        return "JOB"
    return "LOCAL"


class SourceContextProvider(BuiltinContextProvider):
    """Tags ``storekit.source.name`` and ``storekit.source.type``."""

    priority: ClassVar[int] = 20

    def raw_tags(self) -> Mapping[str, Optional[str]]:
        """The entry-point script and the source type."""
        return {"storekit.source.name": source_name(), "storekit.source.type": source_type()}
