"""The local side of artifact transfers (storekit.artifacts.localfs): argument checks and download targets.

Pinned by mutation testing (``scripts/mutation.sh artifact_paths``): every repository's uploads
and downloads go through these helpers, so a refusal that stops refusing (a symlink written
through, a file taken for a directory) must fail a test here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storekit.artifacts.localfs import (
    TEMP_MARKER,
    atomic_local_write,
    copy_to_new_file,
    download_destination,
    is_temp_name,
    join_artifact_path,
    refuse_links_below,
    require_local_file,
    temp_name,
    walk_local_dir,
)
from storekit.errors import InvalidParameterError


def test_require_local_file(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"x")
    assert require_local_file(f) == str(f)
    with pytest.raises(InvalidParameterError) as info:
        require_local_file(tmp_path / "missing")
    assert str(info.value) == f"local_file {str(tmp_path / 'missing')!r}: not an existing file"
    with pytest.raises(InvalidParameterError, match=r"^model_file .*: not an existing file$"):
        require_local_file(tmp_path, "model_file")  # a directory is no file


def test_download_destination_new_temporary_directory() -> None:
    path = download_destination(None)
    try:
        assert os.path.isdir(path) and os.path.basename(path).startswith("storekit-download-")
    finally:
        os.rmdir(path)


def test_download_destination_existing_new_and_refused(tmp_path: Path) -> None:
    assert download_destination(tmp_path) == str(tmp_path)  # an existing directory is used as it is
    nested = tmp_path / "a" / "b"
    assert download_destination(nested) == str(nested) and nested.is_dir()
    assert download_destination(nested) == str(nested)  # twice: still fine
    f = tmp_path / "file"
    f.write_bytes(b"x")
    with pytest.raises(InvalidParameterError) as info:
        download_destination(f)
    assert str(info.value) == f"dst_path {str(f)!r}: exists and is not a directory"


def test_refuse_links_below_the_destination(tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    (dst / "real").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (dst / "model").symlink_to(outside, target_is_directory=True)
    refuse_links_below(str(dst), [str(dst / "real" / "x.bin")])  # no link on the way
    with pytest.raises(InvalidParameterError) as info:
        refuse_links_below(str(dst), [str(dst / "real" / "x.bin"), str(dst / "model" / "x.bin")])
    assert str(info.value).startswith(f"dst_path: {str(dst / 'model')!r} is a symbolic link; downloads never write")


def test_the_destination_itself_may_be_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    refuse_links_below(str(link), [str(link / "sub" / "x.bin")])
    refuse_links_below(str(link) + os.sep, [str(link / "sub" / "x.bin")])
    refuse_links_below(str(tmp_path / "elsewhere"), [str(link / "sub" / "x.bin")])  # not below: not walked


def test_links_deeper_than_an_already_checked_directory_are_found(tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    (dst / "a").mkdir(parents=True)
    (dst / "a" / "link").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(InvalidParameterError) as info:
        refuse_links_below(str(dst), [str(dst / "a" / "x.bin"), str(dst / "a" / "link" / "y.bin")])
    assert str(info.value) == (
        f"dst_path: {str(dst / 'a' / 'link')!r} is a symbolic link; downloads never write through links "
        "below their destination (remove it or choose another destination)"
    )


def test_temporary_names_are_hidden_and_marked() -> None:
    name = temp_name("model.pkl")
    assert name.startswith(".model.pkl" + TEMP_MARKER) and len(name) == len(".model.pkl" + TEMP_MARKER) + 12
    assert name != temp_name("model.pkl")
    assert is_temp_name(name)
    assert not is_temp_name("model.pkl")
    assert not is_temp_name(".hidden")  # hidden, but not ours
    assert not is_temp_name("x" + TEMP_MARKER + "abc")  # marked, but not hidden


# --- walk_local_dir: what an upload of a directory reads ------------------------------------------


def _listing(root: Path, **kwargs: bool) -> list[tuple[str, str, int, bool]]:
    return [(f.path, f.relpath, f.size, f.is_symlink) for f in walk_local_dir(root, **kwargs)]


def test_walk_lists_every_file_sorted_with_relative_paths_and_sizes(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for rel, size in [("b.txt", 2), ("a/z.bin", 5), ("a/b/c.bin", 0), ("c/x", 3), ("a-b", 1)]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x" * size)
    expected = [
        (str(root / rel), rel, size, False)
        for rel, size in [("a-b", 1), ("a/b/c.bin", 0), ("a/z.bin", 5), ("b.txt", 2), ("c/x", 3)]
    ]
    assert _listing(root) == expected  # sorted by relative path, not in the order directories are walked
    assert _listing(root, refuse_outside_links=True) == expected
    assert walk_local_dir(str(root) + os.sep)[0].relpath == "a-b"  # a trailing separator changes nothing


def test_walk_refuses_what_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    for path in (tmp_path / "f", tmp_path / "missing"):
        with pytest.raises(InvalidParameterError) as info:
            walk_local_dir(path, field="src_dir")
        assert str(info.value) == f"src_dir {str(path)!r}: not an existing directory"


def test_walk_uploads_links_inside_the_tree_as_their_targets_and_never_follows_directory_links(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tree"
    (root / "d").mkdir(parents=True)
    (root / "d" / "data.bin").write_bytes(b"12345")
    (root / "copy.bin").symlink_to(root / "d" / "data.bin")
    (root / "dirlink").symlink_to(root / "d", target_is_directory=True)
    for refuse in (False, True):
        assert _listing(root, refuse_outside_links=refuse) == [
            (str(root / "copy.bin"), "copy.bin", 5, True),  # the target's size, marked as a link
            (str(root / "d" / "data.bin"), "d/data.bin", 5, False),
        ]


def test_walk_through_a_linked_root_keeps_links_inside_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "f.bin").write_bytes(b"abc")
    (real / "g.bin").symlink_to(real / "f.bin")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert [(f.relpath, f.size) for f in walk_local_dir(link, refuse_outside_links=True)] == [
        ("f.bin", 3),
        ("g.bin", 3),
    ]


def test_walk_keeps_outside_links_only_when_not_asked_to_refuse(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (tmp_path / "secret").write_bytes(b"do not read")
    (root / "key").symlink_to(tmp_path / "secret")
    assert _listing(root) == [(str(root / "key"), "key", 11, True)]
    with pytest.raises(InvalidParameterError) as info:
        walk_local_dir(root, refuse_outside_links=True)
    assert str(info.value) == (
        f"local_dir {str(root)!r}: symbolic links leading outside the directory are not uploaded: 'key'; "
        "nothing was uploaded"
    )


def test_walk_refuses_a_dangling_link_even_one_pointing_inside(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "ok.bin").write_bytes(b"x")
    (root / "gone").symlink_to(root / "not-there")
    assert [f.relpath for f in walk_local_dir(root)] == ["ok.bin"]  # not asked to refuse: skipped
    with pytest.raises(InvalidParameterError, match=r": symbolic links leading outside the directory .*: 'gone';"):
        walk_local_dir(root, refuse_outside_links=True)


def test_walk_refusal_names_every_outside_link_sorted_up_to_ten(tmp_path: Path) -> None:
    def refusal(count: int) -> str:
        root = tmp_path / f"tree{count}"
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "fine.bin").write_bytes(b"x")
        for i in reversed(range(count)):
            where = root / "sub" if i % 2 else root
            (where / f"l{i:02d}").symlink_to(tmp_path)
        with pytest.raises(InvalidParameterError) as info:
            walk_local_dir(root, refuse_outside_links=True)
        return str(info.value).split("uploaded: ", 1)[1]

    names = [f"'l{i:02d}'" if i % 2 == 0 else f"'sub/l{i:02d}'" for i in range(12)]
    assert refusal(3) == "'l00', 'l02', 'sub/l01'; nothing was uploaded"
    assert refusal(10) == ", ".join(sorted(names[:10])) + "; nothing was uploaded"
    assert refusal(11) == ", ".join(sorted(names[:11])[:10]) + " and 1 more; nothing was uploaded"
    assert refusal(12) == ", ".join(sorted(names)[:10]) + " and 2 more; nothing was uploaded"


# --- atomic_local_write: a reader never sees a partly written file ---------------------------------


def test_atomic_write_creates_missing_directories_and_replaces_old_content(tmp_path: Path) -> None:
    final = tmp_path / "a" / "b" / "f.bin"
    with atomic_local_write(str(final)) as fh:
        fh.write(b"new")
        assert not final.exists()  # nothing at the final name until the block ends
        [tmp] = os.listdir(final.parent)
        assert is_temp_name(tmp) and tmp.startswith(".f.bin")
    assert final.read_bytes() == b"new" and os.listdir(final.parent) == ["f.bin"]
    with atomic_local_write(str(final)) as fh:  # the directory exists now: fine
        fh.write(b"newer")
    assert final.read_bytes() == b"newer" and os.listdir(final.parent) == ["f.bin"]


def test_atomic_write_of_a_bare_name_goes_to_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with atomic_local_write("f.bin") as fh:
        fh.write(b"x")
    assert os.listdir(tmp_path) == ["f.bin"] and (tmp_path / "f.bin").read_bytes() == b"x"


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_atomic_write_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path, error: BaseException) -> None:
    final = tmp_path / "f.bin"
    final.write_bytes(b"old")
    with pytest.raises(type(error)):
        with atomic_local_write(str(final)) as fh:
            fh.write(b"half")
            raise error
    assert os.listdir(tmp_path) == ["f.bin"] and final.read_bytes() == b"old"


def test_atomic_write_failure_when_the_temporary_is_already_gone(tmp_path: Path) -> None:
    final = tmp_path / "f.bin"
    with pytest.raises(ValueError, match="boom"):
        with atomic_local_write(str(final)) as fh:
            os.unlink(fh.name)  # the cleanup's own error is not what the caller sees
            raise ValueError("boom")
    assert os.listdir(tmp_path) == []


# --- join_artifact_path ------------------------------------------------------------------------------


def test_join_artifact_path_skips_empty_parts_and_validates_each(tmp_path: Path) -> None:
    assert join_artifact_path() == ""
    assert join_artifact_path(None, "a//b/", "", ".", "./c") == "a/b/c"
    assert join_artifact_path("a", None, "b") == "a/b"
    with pytest.raises(InvalidParameterError) as info:
        join_artifact_path("a", "../b", field="dst_path")
    assert str(info.value) == "dst_path '../b': must not contain '..' segments"
    with pytest.raises(InvalidParameterError, match=r"^artifact_path '/etc': must be relative"):
        join_artifact_path("a", "/etc")


def test_walk_refuses_a_link_into_a_sibling_whose_name_extends_the_root(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    sibling = tmp_path / "tree-secrets"  # shares the root's name as a prefix, but is outside it
    sibling.mkdir()
    (sibling / "key").write_bytes(b"do not read")
    (root / "key").symlink_to(sibling / "key")
    with pytest.raises(InvalidParameterError, match=r"outside the directory are not uploaded: 'key';"):
        walk_local_dir(root, refuse_outside_links=True)


def test_refuse_links_below_ignores_paths_beside_the_destination(tmp_path: Path) -> None:
    dst = tmp_path / "d"
    dst.mkdir()
    for name in ("-x", "z"):  # links whose names are the tails of the paths beside dst
        (dst / name).symlink_to(tmp_path, target_is_directory=True)
    refuse_links_below(str(dst), [str(tmp_path / "d-x" / "f.bin"), str(tmp_path / "xyz" / "f.bin")])
    with pytest.raises(InvalidParameterError, match="is a symbolic link"):
        refuse_links_below(str(dst), [str(dst / "z" / "f.bin")])


def test_copies_are_created_readable_and_never_executable(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.write_bytes(b"#!/bin/sh\n")
    source.chmod(0o755)  # the source's mode is not copied: a new file gets 0o666 less the umask
    old = os.umask(0o022)
    try:
        copy_to_new_file(str(source), str(tmp_path / "dst"))
    finally:
        os.umask(old)
    assert (tmp_path / "dst").stat().st_mode & 0o777 == 0o644
