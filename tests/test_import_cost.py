"""``import storekit`` stays cheap: no heavy library, backend or entry-point scan.

Speed itself is measured by the benchmarks; this test prints the measured
import time for information and asserts only what is loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
baseline = set(sys.modules)
import storekit
loaded = sorted(set(sys.modules) - baseline)
registry = sys.modules.get("storekit.plugins")
print(json.dumps({
    "loaded": loaded,
    "index": sorted(registry._INDEX) if registry is not None else [],
}))
"""

_HEAVY = (
    "sqlalchemy",
    "alembic",
    "fsspec",
    "click",
    "rich",
    "pyarrow",
    "boto3",
    "botocore",
    "importlib.metadata",
    "storekit.backends",
    "storekit.artifacts",
    "storekit.context",
    "storekit.client",
    "storekit.fluent",
    "storekit.search",
    "storekit.cli",
)


def _probe(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_import_loads_nothing_heavy() -> None:
    result = _probe(_PROBE)
    heavy = [m for m in result["loaded"] if any(m == h or m.startswith(h + ".") for h in _HEAVY)]
    assert heavy == []
    assert result["index"] == []  # no entry point group was indexed


def test_lazy_names_load_on_first_use() -> None:
    result = _probe("""
import json, sys
import storekit
fn = storekit.resolve_tracking_store
print(json.dumps({
    "registry": "storekit.plugins" in sys.modules,
    "index": sorted(sys.modules["storekit.plugins"]._INDEX),
    "same": fn is sys.modules["storekit.plugins"].resolve_tracking_store,
}))
""")
    assert result == {"registry": True, "index": [], "same": True}


def test_public_names_are_exported() -> None:
    import storekit

    assert storekit.__version__
    for name in (
        "Run",
        "Metric",
        "PagedList",
        "StorekitError",
        "PluginLoadError",
        "TrackingStore",
        "Capability",
        "STOREKIT_API",
        "resolve_registry_store",
        "TrackingClient",
        "start_run",
        "log_metric",
    ):
        assert name in storekit.__all__
    for name in storekit.__all__:  # every exported name resolves (lazy ones on demand)
        getattr(storekit, name)  # raises AttributeError or ImportError if broken
    assert set(storekit.__all__) <= set(dir(storekit))
    assert len(storekit.__all__) == len(set(storekit.__all__))


def test_unknown_attribute_raises_attribute_error() -> None:
    import storekit

    try:
        storekit.no_such_name
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("storekit.no_such_name did not raise AttributeError")


def test_print_import_time() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import storekit"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.rstrip().endswith("| storekit")][-1]
    cumulative_us = int(line.split("|")[1])
    print(f"import storekit: {cumulative_us / 1000:.1f} ms cumulative (-X importtime)")
    assert cumulative_us > 0
