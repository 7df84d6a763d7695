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
    download_destination,
    is_temp_name,
    refuse_links_below,
    require_local_file,
    temp_name,
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
