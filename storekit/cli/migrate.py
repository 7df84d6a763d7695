"""``storekit migrate`` and ``storekit import-mlflow``: copy a whole store into a storekit store.

Both commands share the copy engine of :mod:`storekit.transfer`; see
docs/migration.md for what comes over, resume and verification.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional

import click

from ..errors import InvalidParameterError
from ..uri import get_scheme, local_path_from_uri, redact_uri
from ._output import handle_errors, print_json

__all__ = ["migrate", "import_mlflow", "run_transfer"]


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("src"),
        click.argument("dst"),
        click.option(
            "--registry-uri", default=None, help="Registry of the source (default: the source itself, when it has one)."
        ),
        click.option(
            "--dst-registry-uri",
            default=None,
            help="Registry of the destination (default: the destination itself, when it has one).",
        ),
        click.option("--dry-run", is_flag=True, help="Print what would be copied; write nothing."),
        click.option(
            "--state",
            "state_path",
            default=None,
            type=click.Path(dir_okay=False),
            help="Resume state file (default: ./.storekit-transfer-<hash>.jsonl).",
        ),
        click.option("--no-verify", is_flag=True, help="Skip the final verification."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _scheme(uri: str) -> str:
    return get_scheme(uri).split("+", 1)[0].lower()


def _local_path(uri: str) -> Optional[str]:
    """The local file or directory a file/SQLite URI names (None for servers and memory)."""
    scheme = _scheme(uri)
    path: Optional[str] = None
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else None
        if path and not path.startswith("/"):
            path = os.path.abspath(path)
        if path in ("", ":memory:"):
            path = None
    elif scheme in ("", "file"):
        path = str(local_path_from_uri(uri))
    return os.path.realpath(path) if path else None


def _require_existing(uri: str, what: str) -> None:
    """A local source must exist: opening a missing one would create an empty store."""
    path = _local_path(uri)
    if path is not None and not os.path.exists(path):
        raise InvalidParameterError(f"{what}: {redact_uri(uri)} does not exist")


def _require_apart(src: str, dst: str) -> None:
    """DST must not be SRC or lie inside it (nothing is ever written into the source)."""
    a, b = _local_path(src), _local_path(dst)
    if a and b and (a == b or b.startswith(a.rstrip(os.sep) + os.sep)):
        raise InvalidParameterError(f"DST {redact_uri(dst)} is SRC or inside it; choose another destination")
    if src == dst:
        raise InvalidParameterError("DST is the same store as SRC; choose another destination")


def _storekit_source(src: str, registry_uri: Optional[str]) -> Any:
    from ..interfaces import Capability
    from ..plugins import resolve_registry_store, resolve_tracking_store
    from ..transfer.storekit_source import StorekitSource

    _require_existing(src, "SRC")
    tracking = resolve_tracking_store(src)
    registry = None
    if registry_uri or Capability.REGISTRY in tracking.capabilities:
        registry = resolve_registry_store(registry_uri or src)
    return StorekitSource(tracking, registry, redact_uri(src))


def _mlflow_source(src: str, registry_uri: Optional[str]) -> Any:
    from ..transfer.mlflow_source import open_mlflow_source

    return open_mlflow_source(src, registry_uri)


def _destination_has_hook(dst: str) -> bool:
    from ..interfaces import Capability
    from ..plugins import load_implementation

    return Capability.IMPORT in getattr(load_implementation("tracking", dst), "capabilities", frozenset())


def _open_destination(dst: str, dst_registry_uri: Optional[str]) -> Any:
    from ..interfaces import Capability
    from ..plugins import resolve_registry_store, resolve_tracking_store
    from ..transfer.destination import destination_for

    tracking = resolve_tracking_store(dst)
    registry = None
    if dst_registry_uri or Capability.REGISTRY in tracking.capabilities:
        registry = resolve_registry_store(dst_registry_uri or dst)
    return destination_for(tracking, registry)


def _source_accounts(src: str) -> Any:
    """SRC's account store when it holds any user (None otherwise: nothing to copy)."""
    from ..transfer.accounts import open_accounts

    store = open_accounts(src, create=False)
    if store is not None and not store.list_users():
        store.close()
        return None
    return store


def _account_summary(store: Any) -> str:
    return f"{len(store.list_users())} users, {len(store.export_tokens())} tokens, {len(store.list_grants())} grants"


def _copy_accounts(src_accounts: Any, dst: str, dest_text: str, state: Any, result: Any) -> Any:
    """Copy SRC's accounts into DST (unless the resume state says they are done); DST's account store."""
    from ..transfer.accounts import copy_accounts, open_accounts

    if src_accounts is None:
        return None
    dst_accounts = open_accounts(dst, create=True)
    if dst_accounts is None:
        result.notes.append(f"server accounts not copied: {dest_text} keeps no accounts")
    elif not state.is_done("accounts", "done"):
        counts = copy_accounts(src_accounts, dst_accounts, lambda i: state.mapped("experiment", i) or i)
        state.mark("accounts", "done")
        result.users, result.tokens, result.grants = counts.users, counts.tokens, counts.grants
    return dst_accounts


def run_transfer(
    open_source: Callable[[], Any],
    src: str,
    dst: str,
    dst_registry_uri: Optional[str],
    artifacts: str,
    dry_run: bool,
    state_path: Optional[str],
    no_verify: bool,
    as_json: bool,
    accounts: bool = False,
) -> int:
    """Plan, copy and verify; returns the exit code (1 when the verification finds differences).

    ``accounts``: also copy ``storekit server`` accounts (users, token hashes, grants) when SRC holds any.
    """
    from ..transfer import report
    from ..transfer.accounts import verify_accounts
    from ..transfer.engine import CopyEngine, TransferOptions, count_plan
    from ..transfer.state import ResumeState, default_state_path
    from ..transfer.verify import verify

    _require_apart(src, dst)
    source_text, dest_text = redact_uri(src), redact_uri(dst)
    path = state_path or default_state_path(source_text, dest_text)
    source = open_source()
    src_accounts = _source_accounts(src) if accounts else None
    try:
        if dry_run:
            state = ResumeState(path, source_text, dest_text, dry_run=True)
            rows = count_plan(source)
            models = list(source.registered_models())
            registry = (len(models), sum(len(v) for _, v in models)) if models else None
            hook = _destination_has_hook(dst)
            summary = [
                ("source", source.description),
                ("destination", dest_text),
                ("ids", "preserved (import hook)" if hook else "new (public API fallback)"),
                ("artifacts", artifacts),
                ("resume state", str(path)),
                ("runs already done", state.count("run")),
            ]
            if src_accounts is not None:
                summary.append(("server accounts", _account_summary(src_accounts)))
            if as_json:
                print_json(report.plan_json(rows, registry, summary))
            else:
                report.print_plan(rows, registry, summary)
            return 0
        dst_accounts = None
        destination = _open_destination(dst, dst_registry_uri)
        state = ResumeState(path, source_text, dest_text, fsync_each=not destination.preserves_ids)
        try:
            options = TransferOptions(artifacts=artifacts)
            interactive = sys.stderr.isatty() and not as_json
            total = sum(source.count_runs(e.experiment_id) for e in source.experiments()) if interactive else None
            with report.progress(total, "copying runs") as tick:
                engine = CopyEngine(source, destination, state, options, on_run=tick)
                result = engine.run()
            dst_accounts = _copy_accounts(src_accounts, dst, dest_text, state, result)
            check = None
            if not no_verify:
                with report.progress(total, "verifying runs") as tick_verify:
                    check = verify(engine, on_run=lambda: tick_verify(0))
                if src_accounts is not None and dst_accounts is not None:
                    verify_accounts(src_accounts, dst_accounts, lambda i: state.mapped("experiment", i) or i, check)
            if as_json:
                print_json(report.result_json(result, check))
            else:
                report.print_result(result)
                if check is not None:
                    report.print_verification(check)
            return 0 if check is None or check.ok else 1
        finally:
            state.close()
            destination.close()
            if dst_accounts is not None:
                dst_accounts.close()
    finally:
        source.close()
        if src_accounts is not None:
            src_accounts.close()


@click.command("migrate")
@_common
@handle_errors
def migrate(
    src: str,
    dst: str,
    registry_uri: Optional[str],
    dst_registry_uri: Optional[str],
    dry_run: bool,
    state_path: Optional[str],
    no_verify: bool,
    as_json: bool,
) -> None:
    """Copy everything from storekit store SRC into storekit store DST (any two backends).

    Experiments, runs (ids, times, statuses, parents, full metric histories,
    params, tags, datasets), logged models, the registry and storekit server
    accounts (users, token hashes, grants) come over;
    artifacts are copied to DST's artifact root and their URIs rewritten.
    Interrupted? Run the same command again: it resumes.
    """
    code = run_transfer(
        lambda: _storekit_source(src, registry_uri),
        src,
        dst,
        dst_registry_uri,
        "copy",
        dry_run,
        state_path,
        no_verify,
        as_json,
        accounts=True,
    )
    sys.exit(code)


@click.command("import-mlflow")
@_common
@click.option(
    "--artifacts",
    type=click.Choice(["copy", "keep"]),
    default="copy",
    show_default=True,
    help="copy: into DST's artifact root; keep: leave them where they are (URIs unchanged).",
)
@handle_errors
def import_mlflow(
    src: str,
    dst: str,
    registry_uri: Optional[str],
    dst_registry_uri: Optional[str],
    dry_run: bool,
    state_path: Optional[str],
    no_verify: bool,
    as_json: bool,
    artifacts: str,
) -> None:
    """Import an MLflow store SRC (an mlruns/ directory or an MLflow database URI) into storekit store DST.

    MLflow is not needed: its files and tables are read directly, read-only.
    """
    code = run_transfer(
        lambda: _mlflow_source(src, registry_uri),
        src,
        dst,
        dst_registry_uri,
        artifacts,
        dry_run,
        state_path,
        no_verify,
        as_json,
    )
    sys.exit(code)
