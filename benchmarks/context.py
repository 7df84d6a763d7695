"""What the workloads share within one benchmark run: sizes, the store, a scratch directory, W1's data."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

__all__ = ["BenchContext", "Seeded"]


@dataclass
class Seeded:
    """An experiment holding W1-shaped data: its id and run ids (W2 and W3 read it)."""

    experiment_id: str
    run_ids: list[str]
    metric_keys: int
    steps: int


@dataclass
class BenchContext:
    """Sizes (the parsed flags), URIs, the open tracking store, a scratch directory and seeded data."""

    args: argparse.Namespace
    tracking_uri: str
    artifact_uri: str
    workdir: Path
    store: Any = None
    seeded: Optional[Seeded] = None
    seeded_by_w1: bool = False
    notes: list[str] = field(default_factory=list)

    def open_store(self) -> Any:
        """The tracking store (resolved from the URI on first use)."""
        if self.store is None:
            import storekit

            self.store = storekit.resolve_tracking_store(self.tracking_uri, default_artifact_root=self.artifact_uri)
        return self.store

    def scratch(self, name: str) -> Path:
        """A new empty directory under the scratch directory."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.workdir))

    def close(self) -> None:
        """Close the store."""
        if self.store is not None:
            self.store.close()
            self.store = None
