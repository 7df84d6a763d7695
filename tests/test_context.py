"""The built-in run context providers (contract section 6)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from storekit.context import BuiltinContextProvider, clean_tags
from storekit.context.git import GitContextProvider, strip_credentials
from storekit.context.host import HostContextProvider
from storekit.context.python import PythonContextProvider
from storekit.context.source import SourceContextProvider
from storekit.context.user import UserContextProvider, current_user
from storekit.interfaces import STOREKIT_API, RunContextProvider
from storekit.plugins import collect_context_tags, get_context_providers
from storekit.validation import MAX_TAG_VALUE_LENGTH, validate_tag

PROVIDERS = [
    (UserContextProvider, 10),
    (SourceContextProvider, 20),
    (GitContextProvider, 30),
    (HostContextProvider, 40),
    (PythonContextProvider, 50),
]


@pytest.mark.parametrize("cls,priority", PROVIDERS, ids=[c.__name__ for c, _ in PROVIDERS])
def test_provider_declarations_and_valid_tags(cls: type, priority: int) -> None:
    provider = cls()
    assert isinstance(provider, RunContextProvider)
    assert provider.storekit_api == STOREKIT_API
    assert isinstance(provider.capabilities, frozenset)
    assert provider.priority == priority
    if provider.in_context():
        tags = provider.tags()
        assert tags, f"{cls.__name__} gave no tags"
        for key, value in tags.items():
            assert key.startswith("storekit.")
            validate_tag(key, value)


def test_installed_providers_are_ordered_by_priority() -> None:
    names = [type(p).__name__ for p in get_context_providers()]
    builtins = [c.__name__ for c, _ in PROVIDERS]
    assert [n for n in names if n in builtins] == builtins


def test_user_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREKIT_USER", "alice")
    assert current_user() == "alice"
    assert UserContextProvider().tags() == {"storekit.user": "alice"}
    monkeypatch.delenv("STOREKIT_USER")
    monkeypatch.setenv("LOGNAME", "bob")
    assert current_user() == "bob"


def test_source_provider_types(monkeypatch: pytest.MonkeyPatch) -> None:
    from storekit.context.source import JOB_ENV_VARS

    for var in JOB_ENV_VARS + ("STOREKIT_SOURCE_TYPE",):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(sys, "argv", [__file__])
    tags = SourceContextProvider().tags()
    assert tags == {"storekit.source.name": str(Path(__file__).resolve()), "storekit.source.type": "LOCAL"}

    monkeypatch.setenv("SLURM_JOB_ID", "42")
    assert SourceContextProvider().tags()["storekit.source.type"] == "JOB"
    monkeypatch.delenv("SLURM_JOB_ID")

    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # any module object will do
    assert SourceContextProvider().tags()["storekit.source.type"] == "NOTEBOOK"
    monkeypatch.setenv("STOREKIT_SOURCE_TYPE", "job")
    assert SourceContextProvider().tags()["storekit.source.type"] == "JOB"

    monkeypatch.setattr(sys, "argv", [""])
    assert SourceContextProvider().tags()["storekit.source.name"] == "<interactive>"


def test_host_and_python_providers() -> None:
    import platform

    assert HostContextProvider().tags()["storekit.host.name"] == platform.node()
    assert PythonContextProvider().tags() == {
        "storekit.python.version": platform.python_version(),
        "storekit.python.implementation": platform.python_implementation(),
    }


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://alice:s3cret@example.com/org/repo.git", "https://example.com/org/repo.git"),
        ("https://ghp_tokenonly@example.com/org/repo.git", "https://example.com/org/repo.git"),
        ("ssh://git:pw@example.com:2222/org/repo.git", "ssh://example.com:2222/org/repo.git"),
        ("git@example.com:org/repo.git", "git@example.com:org/repo.git"),
        ("https://example.com/org/repo.git", "https://example.com/org/repo.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=trunk", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_git_provider_in_a_repository_strips_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "train.py").write_text("print('hi')\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "first")
    _git(repo, "remote", "add", "origin", "https://alice:s3cret-token@example.com/org/repo.git")
    monkeypatch.chdir(repo)

    provider = GitContextProvider()
    assert provider.in_context()
    tags = provider.tags()
    assert tags == {
        "storekit.git.commit": _git(repo, "rev-parse", "HEAD"),
        "storekit.git.branch": "trunk",
        "storekit.git.repoURL": "https://example.com/org/repo.git",
        "storekit.git.dirty": "false",
    }
    assert not any("s3cret" in v or "alice" in v for v in tags.values())

    (repo / "train.py").write_text("print('changed')\n")
    assert provider.tags()["storekit.git.dirty"] == "true"

    # the registry applies it too, and nothing there leaks the password
    collected = collect_context_tags()
    assert collected["storekit.git.commit"] == tags["storekit.git.commit"]
    assert "s3cret" not in repr(collected)


def test_git_provider_detached_head_has_no_branch(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a").write_text("a")
    _git(tmp_path, "add", "a")
    _git(tmp_path, "commit", "-q", "-m", "a")
    _git(tmp_path, "checkout", "-q", "--detach")
    tags = GitContextProvider(path=str(tmp_path)).tags()
    assert "storekit.git.branch" not in tags
    assert "storekit.git.repoURL" not in tags  # no remote
    assert len(tags["storekit.git.commit"]) == 40


def test_git_provider_outside_a_repository(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    if subprocess.run(["git", "rev-parse"], cwd=outside, capture_output=True).returncode == 0:
        pytest.fail("the temporary directory is inside a git work tree; cannot test 'outside'")
    assert GitContextProvider(path=str(outside)).in_context() is False


def test_git_provider_without_git_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable here
    assert GitContextProvider().in_context() is False


def test_clean_tags_shortens_long_values_and_drops_invalid_keys() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tags = clean_tags({"ok": "v", "long": "x" * (MAX_TAG_VALUE_LENGTH + 10), "bad key!": "v", "none": None})
    assert set(tags) == {"ok", "long"}
    assert len(tags["long"]) == MAX_TAG_VALUE_LENGTH and tags["long"].endswith("...")
    messages = " ".join(str(w.message) for w in caught)
    assert "long" in messages and "bad key!" in messages


def test_failing_provider_is_warned_about_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from storekit.plugins import PluginWarning

    def boom(self: BuiltinContextProvider) -> dict[str, str]:
        raise RuntimeError("host lookup exploded")

    monkeypatch.setattr(HostContextProvider, "raw_tags", boom)
    with pytest.warns(PluginWarning, match="host lookup exploded"):
        tags = collect_context_tags()
    assert "storekit.host.name" not in tags
    assert tags["storekit.python.version"]
