"""``storekit runs list --tree``: nested runs under their parent run (tag ``storekit.parentRunId``).

A run whose parent is not among the listed runs is shown at the top level.
``--json`` gives the same forest as nested ``{"run_id", "run_name", "status",
"children": [...]}`` objects.
"""

from __future__ import annotations

from typing import Any, Optional

from ..entities import Run
from ._output import console, display_text, format_time, print_json

__all__ = ["run_forest", "print_run_tree"]


def run_forest(runs: list[Run]) -> list[dict[str, Any]]:
    """The runs as a forest of ``{"run": Run, "children": [...]}`` nodes, each level in the listed order."""
    from ..fluent import PARENT_RUN_ID_TAG

    nodes: dict[str, dict[str, Any]] = {r.info.run_id: {"run": r, "children": []} for r in runs}
    roots: list[dict[str, Any]] = []
    for run in runs:
        parent: Optional[str] = run.data.tags.get(PARENT_RUN_ID_TAG)
        node = nodes[run.info.run_id]
        if parent in nodes and parent != run.info.run_id and not _is_ancestor(nodes, run.info.run_id, parent):
            nodes[parent]["children"].append(node)
        else:
            roots.append(node)
    return roots


def _is_ancestor(nodes: dict[str, dict[str, Any]], candidate: str, of: Optional[str]) -> bool:
    """Whether ``candidate`` is already above ``of`` (a parent-tag cycle is shown flat, not lost)."""
    from ..fluent import PARENT_RUN_ID_TAG

    seen = set()
    while of is not None and of in nodes and of not in seen:
        if of == candidate:
            return True
        seen.add(of)
        of = nodes[of]["run"].data.tags.get(PARENT_RUN_ID_TAG)
    return False


def _jsonable(node: dict[str, Any]) -> dict[str, Any]:
    run: Run = node["run"]
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "children": [_jsonable(c) for c in node["children"]],
    }


def print_run_tree(runs: list[Run], as_json: bool, title: str) -> None:
    """Print the runs as a tree (rich) or as nested JSON."""
    forest = run_forest(runs)
    if as_json:
        print_json([_jsonable(n) for n in forest])
        return
    from rich.text import Text
    from rich.tree import Tree

    top = Tree(Text(display_text(title)))

    def label(run: Run) -> Text:
        status = getattr(run.info.status, "value", run.info.status)
        return Text(
            display_text(f"{run.info.run_name or ''}  {run.info.run_id}  {status}  {format_time(run.info.start_time)}")
        )

    def add(branch: Any, node: dict[str, Any]) -> None:
        child = branch.add(label(node["run"]))
        for sub in node["children"]:
            add(child, sub)

    for node in forest:
        add(top, node)
    if not forest:
        top.add(Text("(none)"))
    console().print(top)
