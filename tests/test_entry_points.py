"""The fast entry-point reader (storekit.entry_points) finds what importlib.metadata finds."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest

from storekit.entry_points import EntryPointRef, InstalledEntryPoints, MetadataError, parse_entry_points, scan
from storekit.plugins import INTERFACES

GROUP = "storekit.tracking_store"


def _dist(root: Path, dirname: str, entry_points: bytes | None, metadata: bytes | None, meta_name: str = "METADATA"):
    path = root / dirname
    path.mkdir(parents=True)
    if entry_points is not None:
        (path / "entry_points.txt").write_bytes(entry_points)
    if metadata is not None:
        (path / meta_name).write_bytes(metadata)


def _found(paths: list[Path], group: str = GROUP) -> dict[str, object]:
    return {label: item for label, item in scan(group, [str(p) for p in paths])}


def test_parse_entry_points_groups_and_comments() -> None:
    text = "# comment\n[console_scripts]\ntool = a.b:main\n\n[storekit.tracking_store]\n acme = acme.store:Store [x]\n"
    assert parse_entry_points(text) == {
        "console_scripts": [("tool", "a.b:main")],
        "storekit.tracking_store": [("acme", "acme.store:Store [x]")],
    }


@pytest.mark.parametrize("text", ["[storekit.tracking_store\nbroken\n", "[g]\nno equals sign\n", "orphan = a:b\n"])
def test_malformed_entry_points_are_an_error(text: str) -> None:
    with pytest.raises(MetadataError, match="entry_points.txt line"):
        parse_entry_points(text)


def test_scan_reads_name_version_and_the_first_distribution_of_a_name_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    meta = b"Metadata-Version: 2.1\nName: Acme.Store\nVersion: 1.2\n\nName: not-this\n"
    _dist(first, "Acme.Store-1.2.dist-info", b"[storekit.tracking_store]\nacme = acme:Store\n", meta)
    _dist(second, "acme_store-9.0.dist-info", b"[storekit.tracking_store]\nacme = other:Store\n", meta)
    _dist(
        second,
        "old_egg-0.1.egg-info",
        b"[storekit.tracking_store]\negg = egg:Store\n",
        b"Metadata-Version: 1.0\nName: old-egg\nVersion: 0.1\n",
        meta_name="PKG-INFO",
    )
    _dist(second, "other-1.0.dist-info", b"[console_scripts]\nx = y:z\n", b"\xff not read")  # group not declared
    found = _found([first, second])
    assert found == {
        "Acme.Store-1.2.dist-info": InstalledEntryPoints(
            "Acme.Store", "1.2", (EntryPointRef("acme", "acme:Store", GROUP),)
        ),
        "old_egg-0.1.egg-info": InstalledEntryPoints("old-egg", "0.1", (EntryPointRef("egg", "egg:Store", GROUP),)),
    }


def test_unreadable_metadata_is_reported_by_directory(tmp_path: Path) -> None:
    _dist(tmp_path, "broken-1.0.dist-info", b"[storekit.tracking_store\nbroken\n", b"Name: broken\n")
    _dist(tmp_path, "latin-1.0.dist-info", b"[storekit.tracking_store]\nl = l:S\n", b"Name: latin\nSummary: caf\xe9\n")
    found = _found([tmp_path])
    assert set(found) == {"broken-1.0.dist-info", "latin-1.0.dist-info"}
    assert all(isinstance(item, MetadataError) for item in found.values())
    # a malformed entry_points.txt is reported whatever group is asked for; unread METADATA is not
    assert set(_found([tmp_path], "storekit.registry_store")) == {"broken-1.0.dist-info"}


def test_entry_point_ref_loads_module_attributes() -> None:
    assert EntryPointRef("x", "storekit.plugins:INTERFACES", GROUP).load() is INTERFACES
    assert EntryPointRef("x", "storekit.plugins", GROUP).load().__name__ == "storekit.plugins"
    with pytest.raises(ValueError, match="not 'module:attribute'"):
        EntryPointRef("x", "not a value!", GROUP).load()


@pytest.mark.parametrize("group", sorted(i.group for i in INTERFACES.values()))
def test_scan_of_this_environment_equals_importlib_metadata(group: str) -> None:
    expected: set[tuple[str, str, str, str]] = set()
    seen: set[str] = set()
    for dist in distributions():
        key = dist._normalized_name  # type: ignore[attr-defined]
        if key in seen:
            continue
        seen.add(key)
        for ep in dist.entry_points:
            if ep.group == group:
                expected.add((dist.metadata["Name"], dist.version, ep.name, ep.value))
    got = {
        (item.distribution, item.version, ep.name, ep.value)
        for _, item in scan(group)
        if isinstance(item, InstalledEntryPoints)
        for ep in item.entry_points
    }
    assert got == expected and expected


def test_resolving_a_store_does_not_import_importlib_metadata(tmp_path: Path) -> None:
    from storekit.plugins import resolve_tracking_store

    resolve_tracking_store(f"sqlite:///{tmp_path}/s.db").close()  # created here: the child opens a current store
    code = (
        "import sys, storekit\n"
        f"store = storekit.resolve_tracking_store('sqlite:///{tmp_path}/s.db')\n"
        "store.search_experiments()\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_metadata_read_as_bytes_keeps_crlf_and_large_files_whole(tmp_path: Path) -> None:
    """The raw-``os.read`` reader gives the same entry points for CRLF files and files over one read's size."""
    filler = b"".join(b"[g%d]\r\nx = m:f\r\n" % i for i in range(8000))  # > 64 KiB: several reads
    _dist(
        tmp_path,
        "acme-1.0.dist-info",
        filler + b"[storekit.tracking_store]\r\nacme = acme.store:Store\r\n",
        b"Name: acme\r\nVersion: 1.0\r\n\r\nbody\r\n",
    )
    assert len(filler) > 65536
    found = _found([tmp_path])
    assert found == {
        "acme-1.0.dist-info": InstalledEntryPoints("acme", "1.0", (EntryPointRef("acme", "acme.store:Store", GROUP),))
    }


def test_an_entry_points_file_that_is_a_directory_is_reported(tmp_path: Path) -> None:
    """A path that opens but does not read (a directory) is unreadable metadata, not a crash."""
    (tmp_path / "odd-1.0.dist-info" / "entry_points.txt").mkdir(parents=True)
    found = _found([tmp_path])
    assert list(found) == ["odd-1.0.dist-info"]
    assert isinstance(found["odd-1.0.dist-info"], MetadataError)
    assert "entry_points.txt" in str(found["odd-1.0.dist-info"])
