"""``storekit runs plot``: the image shows what was asked; the terminal chart draws the curves."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from storekit.cli import cli
from storekit.client import TrackingClient
from storekit.entities import Metric
from storekit.plotting import SPARK_CHARS, sparkline

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(params=["file", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Three runs with ``loss`` (falling) and ``acc`` (rising) over 50 steps."""
    uri = str(tmp_path / "store") if request.param == "file" else f"sqlite:///{tmp_path / 'store.db'}"
    out = {"uri": uri}
    with TrackingClient(uri) as client:
        eid = client.create_experiment("plots")
        for i, name in enumerate(("alpha", "beta", "gamma")):
            rid = client.create_run(eid, run_name=name).info.run_id
            pts = [Metric("loss", 1.0 / (s + 1) + i, 1_700_000_000_000 + 1000 * s, s) for s in range(50)]
            pts += [Metric("acc", s / 50 + i / 10, 1_700_000_000_000 + 1000 * s, s) for s in range(50)]
            client.log_batch(rid, metrics=pts)
            out[name] = rid
    return out


def sk(store: dict[str, str], *args: str) -> "tuple[int, str, str]":
    result = CliRunner().invoke(cli, ["--tracking-uri", store["uri"], *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_svg_has_axes_one_line_per_run_and_legend(store: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "chart.svg"
    code, _, err = sk(
        store,
        "runs",
        "plot",
        store["alpha"],
        store["beta"],
        store["gamma"],
        "--metric",
        "loss",
        "--metric",
        "acc",
        "-o",
        str(target),
    )
    assert code == 0, err
    root = ET.parse(target).getroot()
    ids = [g.get("id", "") for g in root.iter(f"{SVG}g")]
    for key in ("loss", "acc"):
        lines = [i for i in ids if i.startswith("run-") and i.endswith(f"-{key}")]
        assert sorted(lines) == sorted(f"run-{store[n]}-{key}" for n in ("alpha", "beta", "gamma"))
    for g in root.iter(f"{SVG}g"):
        if g.get("id", "").startswith("run-"):
            path = g.find(f"{SVG}path")
            assert path is not None and len(re.findall(r"[ML]", path.get("d", ""))) >= 50  # every point drawn
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    joined = " ".join(texts)
    for word in ("alpha", "beta", "gamma", "step", "loss", "acc"):
        assert word in joined, word
    assert sum(1 for t in texts if t.strip() == "step") == 2  # an x label per panel


def test_png_decodes_with_its_size(store: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "chart.png"
    code, _, err = sk(
        store, "runs", "plot", store["alpha"], store["beta"], "-m", "loss", "-o", str(target), "--x", "time"
    )
    assert code == 0, err
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 400 and height >= 200
    from matplotlib import image

    pixels = image.imread(str(target))
    assert pixels.shape[0] == height and pixels.shape[1] == width
    assert pixels.std() > 0.01  # not a blank canvas


def test_time_axis_label_in_svg(store: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "t.svg"
    code, _, err = sk(store, "runs", "plot", store["alpha"], "-m", "acc", "-o", str(target), "--x", "time")
    assert code == 0, err
    texts = " ".join(t.text or "" for t in ET.parse(target).getroot().iter(f"{SVG}text"))
    assert "time (UTC)" in texts and "step" not in texts.split()


def test_terminal_chart(store: dict[str, str]) -> None:
    code, out, err = sk(store, "runs", "plot", store["alpha"], store["gamma"], "-m", "loss", "--width", "20")
    assert code == 0, err
    rows = [line for line in out.splitlines() if "loss" in line and ("alpha" in line or "gamma" in line)]
    assert len(rows) == 2
    curves = [re.search(f"[{SPARK_CHARS}]+", line) for line in rows]
    assert all(c is not None and len(c.group(0)) == 20 for c in curves)
    alpha = next(c.group(0) for line, c in zip(rows, curves) if "alpha" in line and c)
    gamma = next(c.group(0) for line, c in zip(rows, curves) if "gamma" in line and c)
    assert alpha[0] > alpha[-1]  # falling loss
    # one scale for both runs: gamma = alpha + 2 sits above alpha everywhere
    assert all(g > a for g, a in zip(gamma, alpha))
    assert min(alpha) == SPARK_CHARS[0] and gamma[0] >= SPARK_CHARS[-2]


def test_bad_output_suffix_and_unknown_run(store: dict[str, str], tmp_path: Path) -> None:
    code, _, err = sk(store, "runs", "plot", store["alpha"], "-m", "loss", "-o", str(tmp_path / "x.gif"))
    assert code == 1 and "--output" in err
    code, _, err = sk(store, "runs", "plot", "f" * 32, "-m", "loss")
    assert code == 1 and err.startswith("error:")


def test_sparkline_levels() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == SPARK_CHARS
    assert sparkline([1.0, float("nan"), 3.0]) == SPARK_CHARS[0] + " " + SPARK_CHARS[-1]
    assert len(sparkline(list(range(1000)), width=10)) == 10


def test_without_matplotlib_the_error_names_the_extra(store: dict[str, str], tmp_path: Path) -> None:
    import subprocess
    import sys

    def run(*extra: str) -> "subprocess.CompletedProcess[str]":
        args = ["--tracking-uri", store["uri"], "runs", "plot", store["alpha"], "-m", "loss", *extra]
        code = (
            "import sys\n"
            "sys.modules['matplotlib'] = None  # as if matplotlib were not installed\n"
            "from storekit.cli import main\n"
            f"main({args!r})\n"
        )
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    out = run("-o", str(tmp_path / "x.png"))
    assert out.returncode == 1
    assert "storekit[plot]" in out.stderr and out.stderr.startswith("error:")
    assert not (tmp_path / "x.png").exists()
    out = run()  # the terminal chart needs no extra
    assert out.returncode == 0, out.stderr
    assert "alpha" in out.stdout
