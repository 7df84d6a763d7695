"""Scheme extraction and credential redaction (storekit.uri)."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from storekit.uri import (
    append_path,
    candidate_schemes,
    get_scheme,
    is_local_uri,
    local_path_from_uri,
    path_to_file_uri,
    redact_uri,
)


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("/abs/path/store", "file"),
        ("./relative", "file"),
        ("relative/dir", "file"),
        ("store", "file"),
        ("C:\\Users\\me\\store", "file"),
        ("c:/Users/me/store", "file"),
        ("file:///tmp/store", "file"),
        ("file:relative", "file"),
        ("FILE:///tmp/store", "file"),
        ("sqlite:///x.db", "sqlite"),
        ("SQLite:///x.db", "sqlite"),
        ("postgresql://h/db", "postgresql"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg"),
        ("s3://bucket/key", "s3"),
        ("runs:/0123/path", "runs"),
    ],
)
def test_get_scheme(uri: str, scheme: str) -> None:
    assert get_scheme(uri) == scheme
    assert is_local_uri(uri) == (scheme == "file")


def test_get_scheme_of_path_object(tmp_path: Path) -> None:
    assert get_scheme(tmp_path) == "file"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "schemes"),
    [
        ("postgresql+psycopg://h/db", ["postgresql+psycopg", "postgresql"]),
        ("mysql+pymysql://root@h/db", ["mysql+pymysql", "mysql"]),
        ("sqlite:///x.db", ["sqlite"]),
        ("./x", ["file"]),
        ("C:\\x", ["file"]),
        ("file:x", ["file"]),
        ("wasbs://c@acct.example/p", ["wasbs"]),
    ],
)
def test_candidate_schemes(uri: str, schemes: list[str]) -> None:
    assert candidate_schemes(uri) == schemes


# (uri, secrets that must disappear, text that must stay)
_REDACTION_CASES = [
    ("postgresql://alice:hunter2@db.example:5432/test", ["hunter2"], "postgresql://alice:***@db.example:5432/test"),
    ("postgresql+psycopg://alice:p%40ss%2Fw@h/db", ["p%40ss", "ss%2Fw"], "alice:***@h/db"),
    ("postgresql://alice:p@ss@h/db", ["p@ss"], "alice:***@h/db"),
    ("postgresql://h/db?password=pw9&sslmode=require", ["pw9"], "sslmode=require"),
    (
        "mysql+pymysql://root:topsecret@127.0.0.1:3306/test?charset=utf8mb4",
        ["topsecret"],
        "root:***@127.0.0.1:3306/test?charset=utf8mb4",
    ),
    ("mariadb://root:topsecret@127.0.0.1/test", ["topsecret"], "root:***@127.0.0.1/test"),
    ("sftp://deploy:sshpass@files.example:2222/srv/art", ["sshpass"], "sftp://deploy:***@files.example:2222/srv/art"),
    ("s3://AKIAEXAMPLE:wJalrSECRET@bucket/prefix", ["wJalrSECRET"], "s3://AKIAEXAMPLE:***@bucket/prefix"),
    (
        "s3://bucket/p?aws_access_key_id=AKIAEXAMPLE&aws_secret_access_key=wJalrSECRET&region=eu-west-1",
        ["AKIAEXAMPLE", "wJalrSECRET"],
        "region=eu-west-1",
    ),
    (
        "https://bucket.example/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIAEXAMPLE%2F2024&X-Amz-Date=20240101",
        ["deadbeef", "AKIAEXAMPLE"],
        "X-Amz-Date=20240101",
    ),
    ("s3://bucket/p?session_token=FwoGZXIvYXdz", ["FwoGZXIvYXdz"], "s3://bucket/p?"),
    (
        "wasbs://container@acct.blob.example/path?sv=2022-11-02&ss=b&srt=sco&sp=rwdl"
        "&se=2030-01-01T00:00:00Z&spr=https&sig=abc%2Bdef%3D",
        ["abc%2Bdef", "abc+def", "rwdl"],
        "wasbs://container@acct.blob.example/path?",
    ),
    ("abfss://fs@acct.dfs.example/dir?sig=s1gn4ture&sv=2022", ["s1gn4ture"], "abfss://fs@acct.dfs.example/dir"),
    ("https://acct.blob.example/c/blob?sp=r&sig=zzzsig", ["zzzsig"], "https://acct.blob.example/c/blob"),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0S2V5;EndpointSuffix=core.example",
        ["c2VjcmV0S2V5"],
        "AccountName=acct;AccountKey=***;EndpointSuffix=core.example",
    ),
    (
        "BlobEndpoint=https://acct.blob.example/;SharedAccessSignature=sv=2022&sig=abcd",
        ["sig=abcd"],
        "BlobEndpoint=https://acct.blob.example/",
    ),
    (
        "Endpoint=sb://ns.example/;SharedAccessKeyName=Root;SharedAccessKey=k3yv4lue",
        ["k3yv4lue"],
        "Endpoint=sb://ns.example/",
    ),
    ("hdfs://hadoop:hpw@namenode:8020/data", ["hpw"], "hdfs://hadoop:***@namenode:8020/data"),
    ("https://user:ghp_token@git.example/repo?api_key=k123&x=1", ["ghp_token", "k123"], "x=1"),
    ("file:///tmp/a?token=zz", ["zz"], "file:///tmp/a?token=***"),
]


@pytest.mark.parametrize(("uri", "secrets", "kept"), _REDACTION_CASES)
def test_redact_uri_removes_secrets(uri: str, secrets: list[str], kept: str) -> None:
    redacted = redact_uri(uri)
    for secret in secrets:
        assert secret not in redacted
    assert kept in redacted
    assert "***" in redacted


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///abs/x.db",
        "sqlite:///x.db?mode=ro",
        "./local/dir",
        "C:\\Users\\me\\store",
        "postgresql://alice@h/db",
        "s3://bucket/k?versionId=3",
        "file:///tmp/x",
        "wasbs://container@acct.blob.example/path",
    ],
)
def test_redact_uri_keeps_uris_without_secrets_unchanged(uri: str) -> None:
    assert redact_uri(uri) == uri


def test_redact_uri_accepts_path_objects_and_garbage(tmp_path: Path) -> None:
    assert redact_uri(tmp_path) == str(tmp_path)
    assert "pw" not in redact_uri("http://u:pw@[::1")  # unparsable, still redacted


def test_local_paths_round_trip(tmp_path: Path) -> None:
    uri = path_to_file_uri(tmp_path / "a b")
    assert uri.startswith("file://")
    assert local_path_from_uri(uri) == tmp_path / "a b"
    assert local_path_from_uri("./rel") == Path("./rel")
    assert str(local_path_from_uri("file:///C:/x/y")) in ("C:/x/y", str(PureWindowsPath("C:/x/y")))
    with pytest.raises(ValueError, match=r"s3://u:\*\*\*@b"):
        local_path_from_uri("s3://u:secret@b/k")


def test_append_path() -> None:
    assert append_path("s3://b/root", "1", "abc/artifacts") == "s3://b/root/1/abc/artifacts"
    assert append_path("s3://b/root/?versioned=1", "x") == "s3://b/root/x?versioned=1"
    assert append_path("file:///tmp/r", "a b") == "file:///tmp/r/a%20b"
    assert append_path("s3://b/root", "") == "s3://b/root"


# --- passwords with URI delimiters, fragments, free text (second-reading findings) -------------

from storekit.uri import redact_text, uri_secrets


@pytest.mark.parametrize(
    ("uri", "secret", "kept"),
    [
        ("postgresql://u:p/w@h/db", "p/w", "postgresql://u:***@h/db"),
        ("postgresql://u:p?w@h/db", "p?w", "postgresql://u:***@h/db"),
        ("postgresql://u:p#w@h/db", "p#w", "postgresql://u:***@h/db"),
        ("postgresql://u:p@ss@h/db", "p@ss", "postgresql://u:***@h/db"),
        ("sftp://u:a/b@host/p", "a/b", "sftp://u:***@host/p"),
        ("sftp://u:pw9@host/dir@x", "pw9", "sftp://u:***@host/dir@x"),
        ("https://h/x#access_token=abc123&x=1", "abc123", "https://h/x#access_token=***&x=1"),
        ("user:hunter2@host/x", "hunter2", "user:***@host/x"),
    ],
)
def test_redaction_of_passwords_with_delimiters(uri: str, secret: str, kept: str) -> None:
    assert redact_uri(uri) == kept
    assert secret not in redact_uri(uri)


def test_no_secret_no_change_even_with_at_signs() -> None:
    for uri in ("sftp://u@host:22/dir@x", "wasbs://c@acct.blob.core.windows.net/a@b", "postgresql://u@h/db"):
        assert redact_uri(uri) == uri


def test_redact_text_finds_every_uri_and_connection_string_secret() -> None:
    text = "db 'postgresql://u:p@ss@h/db' down; AccountKey=abcKEY==; also mysql://u:a/b@h/db."
    out = redact_text(text)
    for secret in ("p@ss", "abcKEY", "a/b@"):
        assert secret not in out
    assert "postgresql://u:***@h/db'" in out and out.endswith("mysql://u:***@h/db.")


def test_uri_secrets_gives_raw_and_decoded_password() -> None:
    assert set(uri_secrets("postgresql://user:a%2Fb@h/db")) == {"a%2Fb", "a/b"}
    assert uri_secrets("s3://b/p?token=secrettok") == ["secrettok"]
    assert uri_secrets("sqlite:///x.db") == []


# --- details pinned by mutation testing (scripts/mutation.sh redaction) -------------------------

from storekit.uri import split_password


class _OddPath:
    """A path-like object whose ``str`` is not its path (redaction must read the path)."""

    def __fspath__(self) -> str:
        return "postgresql://u:pw42@h/db"

    def __str__(self) -> str:
        return "odd"


def test_redaction_reads_path_like_objects_through_fspath() -> None:
    assert redact_uri(_OddPath()) == "postgresql://u:***@h/db"
    assert uri_secrets(_OddPath()) == ["pw42"]
    assert redact_uri(12345) == "12345"
    assert uri_secrets(12345) == []


def test_candidate_schemes_split_at_the_first_plus_only() -> None:
    assert candidate_schemes("a+b+c://x") == ["a+b+c", "a"]


@pytest.mark.parametrize(
    ("uri", "kept"),
    [
        # connection string: a value holding "=" is replaced whole
        (
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k1==;EndpointSuffix=x",
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=x",
        ),
        ("postgresql://u:p:w@h/db", "postgresql://u:***@h/db"),  # the user ends at the first ':'
        ("s3://u:pw@@h/x", "s3://u:***@h/x"),  # a password ending in '@'
        ("file://u:pw@host/x", "file://u:***@host/x"),  # file URIs with a password are redacted too
        ("file:///x#token=abc", "file:///x#token=***"),
        ("file:///x?token=abc", "file:///x?token=***"),
        ("https://h/p?token=t#frag", "https://h/p?token=***#frag"),  # the fragment ends the query
        ("https://h/p#a#token=x", "https://h/p#a%23token=***"),  # the first '#' starts the fragment
        ("https://h/p?a=1#b#token=x", "https://h/p?a=1#b%23token=***"),
        ("https://h/p?token=&x=1", "https://h/p?token=***&x=1"),  # a secret-named key, even empty
    ],
)
def test_redaction_details(uri: str, kept: str) -> None:
    assert redact_uri(uri) == kept


@pytest.mark.parametrize(
    "uri",
    [
        "https://acct.blob.core.windows.net/c?sv=2020-08-04&comp=list",  # SAS markers without a signature
        "https://h/p?a=b%20c&d=e+f",  # untouched query text is not re-encoded
    ],
)
def test_queries_without_secrets_are_kept_byte_for_byte(uri: str) -> None:
    assert redact_uri(uri) == uri


def test_split_password_reads_the_password_as_redaction_does() -> None:
    assert split_password("postgresql://u:p@ss@h/db") == ("postgresql://u@h/db", "p@ss")
    assert split_password("mysql+pymysql://root:a/b:c@127.0.0.1:3306/test") == (
        "mysql+pymysql://root@127.0.0.1:3306/test",
        "a/b:c",
    )
    assert split_password("postgresql://u@h/db") == ("postgresql://u@h/db", None)
    assert split_password("user:pw@host/x") == ("user:pw@host/x", None)  # no authority: not a URI password
    assert split_password("sqlite:///x.db") == ("sqlite:///x.db", None)


def test_uri_secrets_details() -> None:
    # longest first, so scrubbing replaces "a%2Fb" before its decoded form "a/b"
    assert uri_secrets("postgresql://user:a%2Fb@h/db") == ["a%2Fb", "a/b"]
    assert uri_secrets("user:hunter2@host/x") == ["hunter2"]  # bare user:password@host
    assert uri_secrets("u:pw9@host") == []  # a bare one-letter "user" is not a user
    assert uri_secrets("postgresql://u:pw9@h/db") == ["pw9"]  # in a URI it is
    assert set(uri_secrets("https://u:pw123@h/p?token=tok1&sig=sg1")) == {"pw123", "tok1", "sg1"}
    assert set(uri_secrets("s3://b/p?token=a/b1")) == {"a/b1", "a%2Fb1"}
    assert uri_secrets("s3://b/p?region=eu-west-1") == []


def test_redact_text_keeps_trailing_punctuation_outside_the_uri() -> None:
    assert redact_text("(see https://h/p?token=abc)") == "(see https://h/p?token=***)"
    assert redact_text("AccountKey=abc;x") == "AccountKey=***;x"


def test_local_paths_of_file_uris_with_hosts() -> None:
    assert local_path_from_uri("file://server/share/x") == Path("//server/share/x")
    assert local_path_from_uri("file://localhost/tmp/x") == Path("/tmp/x")
    assert str(local_path_from_uri("file:///c:/x/y")) in ("c:/x/y", str(PureWindowsPath("c:/x/y")))


def test_append_path_details() -> None:
    assert append_path("s3://b/root", "/a/", "b/") == "s3://b/root/a/b"
    assert append_path("s3://b/r", "/", "a") == "s3://b/r/a"
    assert append_path("s3://b/r", "X", "Xy/") == "s3://b/r/X/Xy"
    assert append_path("/tmp/r", "a", "b") == "/tmp/r/a/b"
    assert append_path("s3://b/rootX/", "a") == "s3://b/rootX/a"
    assert append_path("s3://b/r", "a:b@c") == "s3://b/r/a:b@c"


def test_split_password_needs_an_authority() -> None:
    assert split_password("user:a:b@host") == ("user:a:b@host", None)
    assert split_password("/tmp/x@y") == ("/tmp/x@y", None)


def test_redact_text_strips_only_punctuation_from_a_uri_token() -> None:
    assert redact_text("see https://h/p?token=abX") == "see https://h/p?token=***"
    assert redact_text("see https://h/p?token=abc.") == "see https://h/p?token=***."
