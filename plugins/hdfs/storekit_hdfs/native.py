"""Native HDFS access (``hdfs://``, ``viewfs://``) through pyarrow's libhdfs binding.

pyarrow's ``HadoopFileSystem`` needs a JVM and Hadoop's native client:
``JAVA_HOME`` (a JDK with ``libjvm.so``), ``libhdfs.so`` (from
``ARROW_LIBHDFS_DIR`` or ``$HADOOP_HOME/lib/native``) and the Hadoop jars on
``CLASSPATH`` (``export CLASSPATH=$(hadoop classpath --glob)``).
:func:`missing_native_requirements` says which of these is absent, so that
the repository can refuse with a message saying exactly what to set up,
instead of pyarrow's list of every path it tried.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Optional

from storekit.errors import BackendUnavailableError

__all__ = ["missing_native_requirements", "make_native_filesystem"]

_LIBJVM_DIRS = ("lib/server", "jre/lib/amd64/server", "lib/amd64/server", "jre/lib/server", "")
_MAX_NATIVE_MESSAGE = 300


def _find_libjvm(java_home: str) -> Optional[str]:
    for sub in _LIBJVM_DIRS:
        for name in ("libjvm.so", "libjvm.dylib", "jvm.dll"):
            candidate = os.path.join(java_home, sub, name)
            if os.path.isfile(candidate):
                return candidate
    return None


def _find_libhdfs() -> Optional[str]:
    dirs = []
    if os.environ.get("ARROW_LIBHDFS_DIR"):
        dirs.append(os.environ["ARROW_LIBHDFS_DIR"])
    if os.environ.get("HADOOP_HOME"):
        dirs.append(os.path.join(os.environ["HADOOP_HOME"], "lib", "native"))
    for directory in dirs:
        for name in ("libhdfs.so", "libhdfs.dylib", "hdfs.dll"):
            if os.path.isfile(os.path.join(directory, name)):
                return os.path.join(directory, name)
    return None


def _classpath_has_hadoop() -> bool:
    for entry in os.environ.get("CLASSPATH", "").split(os.pathsep):
        if entry.endswith("*"):
            jars = glob.glob(entry[:-1] + "*.jar")
        elif entry.endswith(".jar"):
            jars = [entry] if os.path.isfile(entry) else []
        elif entry:
            jars = glob.glob(os.path.join(entry, "*.jar"))
        else:
            jars = []
        if any("hadoop" in os.path.basename(jar) for jar in jars):
            return True
    return False


def missing_native_requirements() -> list[str]:
    """What pyarrow's libhdfs binding needs and this environment lacks (empty when all is there)."""
    missing: list[str] = []
    java_home = os.environ.get("JAVA_HOME")
    if not java_home:
        missing.append("JAVA_HOME is not set (point it at a JDK, the directory holding lib/server/libjvm.so)")
    elif _find_libjvm(java_home) is None:
        missing.append(f"no libjvm.so under JAVA_HOME={java_home} (looked in lib/server and jre/lib/amd64/server)")
    if _find_libhdfs() is None:
        missing.append(
            "libhdfs.so not found: set ARROW_LIBHDFS_DIR to its directory, or HADOOP_HOME to a Hadoop "
            "installation with lib/native/libhdfs.so"
        )
    if not _classpath_has_hadoop():
        missing.append("CLASSPATH has no Hadoop jars: export CLASSPATH=$(hadoop classpath --glob)")
    return missing


def make_native_filesystem(
    scheme: str,
    host: str,
    port: int,
    user: Optional[str],
    kerb_ticket: Optional[str],
    replication: int,
    extra_conf: Optional[dict[str, str]],
    where: str,
) -> Any:
    """An fsspec wrapper of pyarrow's ``HadoopFileSystem``; BackendUnavailableError if it cannot load."""
    missing = missing_native_requirements()
    if missing:
        raise BackendUnavailableError(
            f"{where}: {scheme}:// needs pyarrow's libhdfs binding (a JVM and Hadoop's native client), "
            "but " + "; ".join(missing) + ". Alternatively use webhdfs:// (HTTP, no JVM needed)."
        )
    from fsspec.implementations.arrow import HadoopFileSystem

    try:
        return HadoopFileSystem(
            host=host,
            port=port,
            user=user,
            kerb_ticket=kerb_ticket,
            replication=replication,
            extra_conf=extra_conf,
            skip_instance_cache=True,
        )
    except (OSError, ImportError) as exc:
        text = str(exc).splitlines()[0][:_MAX_NATIVE_MESSAGE] if str(exc) else type(exc).__name__
        raise BackendUnavailableError(
            f"{where}: could not start pyarrow's libhdfs client ({type(exc).__name__}: {text}); "
            "check JAVA_HOME, ARROW_LIBHDFS_DIR/HADOOP_HOME and CLASSPATH"
        ) from None
