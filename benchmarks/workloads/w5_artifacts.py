"""W5 artifacts: ``log_artifacts`` of many small files and one large file, ``list_artifacts``, ``download_artifacts``.

Floor: ``cp -r`` of the same directory on the same disk; for a remote
artifact URI also a plain upload with the service's own library.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from storekit.uri import append_path, is_local_uri, local_path_from_uri

from ..common import Figure, Timer, median, peak_rss_mib, reset_peak_rss, time_calls
from ..context import BenchContext
from ..floors import REMOTE_FLOOR_LIBRARIES, cp_r_seconds, remote_upload_seconds

__all__ = ["run", "make_source"]

MIB = 1024 * 1024


def make_source(directory: Path, files: int, file_kib: int, big_mib: int) -> tuple[int, int]:
    """Write ``files`` small files under ``small/`` and one ``big.bin``; return (file count, bytes)."""
    small = directory / "small"
    small.mkdir(parents=True)
    for i in range(files):
        (small / f"f{i:05d}.bin").write_bytes(os.urandom(file_kib * 1024))
    count, total = files, files * file_kib * 1024
    if big_mib > 0:
        chunk = os.urandom(min(big_mib, 8) * MIB)
        with open(directory / "big.bin", "wb") as fh:
            written = 0
            while written < big_mib * MIB:
                part = chunk[: big_mib * MIB - written]
                fh.write(part)
                written += len(part)
        count, total = count + 1, total + big_mib * MIB
    return count, total


def _tree_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def run(ctx: BenchContext) -> list[Figure]:
    """Upload, list and download the tree ``--repeat`` times (medians); compare with the floors."""
    import storekit

    a = ctx.args
    src = ctx.scratch("w5-src")
    count, total = make_source(src, a.w5_files, a.w5_file_kib, a.w5_big_mib)
    local_root = local_path_from_uri(ctx.artifact_uri) if is_local_uri(ctx.artifact_uri) else ctx.workdir
    local_root.mkdir(parents=True, exist_ok=True)
    up, down, listing, floors, remote = [], [], [], [], []
    reset_peak_rss()
    for _ in range(a.repeat):
        floors.append(cp_r_seconds(src, local_root / f"cp-floor-{uuid.uuid4().hex}"))
        uri = append_path(ctx.artifact_uri, f"w5-{uuid.uuid4().hex}")
        repo = storekit.resolve_artifact_repository(uri)
        with Timer() as t:
            repo.log_artifacts(str(src))
        up.append(t.seconds)
        samples, listed = time_calls(lambda: repo.list_artifacts("small"), 5)
        listing.append(median(samples))
        dst = ctx.scratch("w5-download")
        with Timer() as t:
            out = repo.download_artifacts("", str(dst))
        down.append(t.seconds)
        got = _tree_size(Path(out))
        if got != (count, total):
            ctx.notes.append(f"W5: downloaded {got} (files, bytes), expected {(count, total)}")
        if len(listed) != a.w5_files:
            ctx.notes.append(f"W5: list_artifacts('small') returned {len(listed)} entries, expected {a.w5_files}")
        shutil.rmtree(dst, ignore_errors=True)
        if is_local_uri(uri):
            shutil.rmtree(local_path_from_uri(uri), ignore_errors=True)
        else:
            remote_time = remote_upload_seconds(uri, src)
            if remote_time is not None:
                remote.append(remote_time)
    rss = peak_rss_mib()
    shutil.rmtree(src, ignore_errors=True)
    mb = total / 1e6
    floor_mb_s, floor_files_s = mb / median(floors), count / median(floors)
    local = is_local_uri(ctx.artifact_uri)
    up_floor_mb = mb / median(remote) if remote else (floor_mb_s if local else None)
    up_floor_files = count / median(remote) if remote else (floor_files_s if local else None)
    floor_note = (
        "floor: cp -r on the same disk"
        if local or not remote
        else f"floor: plain {REMOTE_FLOOR_LIBRARIES.get(ctx.artifact_uri.split(':', 1)[0], 'client')} upload"
    )
    ratio_target = 0.7 if local else None
    figs = [
        Figure(
            "W5",
            "log_artifacts MB/s",
            mb / median(up),
            "MB/s",
            higher_is_better=True,
            floor=up_floor_mb,
            ratio_target=ratio_target,
            note=f"{count} files, {mb:,.0f} MB; {floor_note}",
        ),
        Figure(
            "W5",
            "log_artifacts files/s",
            count / median(up),
            "files/s",
            higher_is_better=True,
            floor=up_floor_files,
            ratio_target=ratio_target,
        ),
        Figure(
            "W5",
            "download_artifacts MB/s",
            mb / median(down),
            "MB/s",
            higher_is_better=True,
            floor=floor_mb_s,
            ratio_target=ratio_target,
            note="floor: cp -r on the same disk",
        ),
        Figure(
            "W5",
            "download_artifacts files/s",
            count / median(down),
            "files/s",
            higher_is_better=True,
            floor=floor_files_s,
            ratio_target=ratio_target,
        ),
        Figure("W5", f"list_artifacts of {a.w5_files} files (median)", median(listing) * 1e3, "ms"),
        Figure("W5", "peak resident memory during transfers", rss, "MiB", target=300.0),
    ]
    if remote:
        figs.append(Figure("W5", "cp -r MB/s (local reference)", floor_mb_s, "MB/s", higher_is_better=True))
    return figs
