"""Include/exclude rules: any include (or none) and no exclude, on the relative path."""

from __future__ import annotations

import fnmatch

import pytest

from mango_transfer.errors import MangoError, UsageError
from mango_transfer.ingest.filters import Filters, compile_glob


def test_no_patterns_take_everything() -> None:
    filters = Filters.build()
    assert filters.accepts("a.csv") and filters.accepts("x/y/z")


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    pytest.param("*.csv", "a.csv", True, id="top-level"),
    pytest.param("*.csv", "x/y/a.csv", True, id="floats-to-any-depth"),
    pytest.param("*.csv", "a.csvx", False, id="anchored-at-end"),
    pytest.param("/*.csv", "a.csv", True, id="rooted-top"),
    pytest.param("/*.csv", "x/a.csv", False, id="rooted-not-deeper"),
    pytest.param("sub-*/eeg/*.edf", "sub-01/eeg/r.edf", True, id="levels"),
    pytest.param("sub-*/eeg/*.edf", "data/sub-01/eeg/r.edf", True, id="levels-floating"),
    pytest.param("sub-*/eeg/*.edf", "sub-01/ses-1/eeg/r.edf", False, id="star-stays-in-level"),
    pytest.param("sub-*/**/*.edf", "sub-01/ses-1/eeg/r.edf", True, id="globstar-levels"),
    # rclone's ** is "anything, / included": a/**/b needs a folder between (the transfer
    # filters and mango-ingest's fnmatch agree); sub-*/*.edf takes the top level
    pytest.param("sub-*/**/*.edf", "sub-01/r.edf", False, id="globstar-needs-a-level"),
    pytest.param("sub-*/**.edf", "sub-01/r.edf", True, id="globstar-in-a-name"),
    pytest.param("*.{edf,bdf}", "x/r.bdf", True, id="alternatives"),
    pytest.param(r"\*.csv", "*.csv", True, id="escaped-star"),
    pytest.param(r"\*.csv", "a.csv", False, id="escaped-star-is-literal"),
    pytest.param("raw/**", "raw/a/b", True, id="trailing-globstar"),
    pytest.param("tmp", "x/tmp/a.csv", False, id="include-matches-files-only"),
    pytest.param("tmp", "x/tmp", True, id="include-file-named-tmp"),
    pytest.param("raw/", "raw/a", True, id="dirs-only-folder"),
    pytest.param("raw/", "x/raw/a/b", True, id="dirs-only-floating"),
    pytest.param("raw/", "raw", False, id="dirs-only-not-file"),
    pytest.param("a?c", "abc", True, id="question"),
    pytest.param("a?c", "a/c", False, id="question-not-slash"),
    pytest.param("[!x]*.txt", "y.txt", True, id="negated-class"),
    pytest.param("a[!x]b", "a/b", False, id="class-never-slash"),
    pytest.param("[[]x].txt", "[x].txt", True, id="literal-bracket"),
    pytest.param("file[.txt", "file[.txt", True, id="unclosed-bracket-literal"),
    pytest.param("*.CSV", "a.csv", False, id="case-sensitive"),
])
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern).matches(path) is expected


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    pytest.param("tmp", "x/tmp/a.csv", True, id="folder-excludes-contents"),
    pytest.param("tmp", "tmpfile", False, id="whole-component"),
    pytest.param("tmp", "tmp", True, id="file-itself"),
    pytest.param("/tmp", "x/tmp/a", False, id="rooted-folder-only-at-top"),
    pytest.param("*.d", "x.d/y.bin", True, id="wildcard-folder"),
])
def test_exclude_glob_covers_folders(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern, "--ignore-glob", folders=True).matches(path) is expected


@pytest.mark.parametrize("pattern", ["*.csv", "a?c*", "[a-c]*", "[!a]*", "*_[0-9][0-9].dat"])
@pytest.mark.parametrize("name", ["abc.csv", "a_12.dat", "bcd", "z.csv", "a[1].txt", "Abc"])
def test_slashless_glob_is_fnmatch_on_the_name(pattern: str, name: str) -> None:
    """For a single name our globs mean what mango-ingest's fnmatch globs meant."""
    assert compile_glob(pattern).matches(f"deep/er/{name}") is fnmatch.fnmatchcase(name, pattern)


RULES = Filters.build(glob=["*.edf", "*.tsv"], regex=[r"^sub-\d+/.*\.json$"],
                      ignore_glob=["derivatives", "*.tmp.*"], ignore=[r"(^|/)\.", r"bad"])


@pytest.mark.parametrize(("path", "reason"), [
    pytest.param("sub-01/eeg/r.edf", None, id="glob-include"),
    pytest.param("participants.tsv", None, id="second-glob"),
    pytest.param("sub-01/eeg/r.json", None, id="regex-include"),
    pytest.param("code/r.json", "matches no --glob/--regex", id="regex-anchored-relative"),
    pytest.param("notes.txt", "matches no --glob/--regex", id="no-include"),
    pytest.param("derivatives/sub-01/r.edf", "matches --ignore-glob 'derivatives'",
                 id="excluded-folder"),
    pytest.param("sub-01/r.tmp.edf", "matches --ignore-glob '*.tmp.*'", id="exclude-glob-wins"),
    pytest.param("sub-01/.r.edf", "matches --ignore '(^|/)\\\\.'", id="exclude-regex-wins"),
    pytest.param("sub-01/bad.edf", "matches --ignore 'bad'", id="exclude-regex-anywhere"),
])
def test_include_and_exclude_combined(path: str, reason: str | None) -> None:
    assert RULES.reason(path) == reason
    assert RULES.accepts(path) is (reason is None)


def test_two_globs_reject_what_neither_matches() -> None:
    """mango-ingest's sync uploaded such a file (its include check fell through to accept)."""
    filters = Filters.build(glob=["*.csv", "*.json"])
    assert not filters.accepts("recording.bin")


def test_excludes_only_still_take_the_rest() -> None:
    filters = Filters.build(ignore=[r"\.tmp$"])
    assert filters.accepts("a.bin") and not filters.accepts("a.tmp")


def test_prunes_only_for_folder_globs() -> None:
    filters = Filters.build(ignore_glob=["derivatives", "cache/"], ignore=["x"])
    assert filters.prunes("derivatives") and filters.prunes("a/derivatives/b")
    assert filters.prunes("cache")
    assert not filters.prunes("sub-01") and not filters.prunes("xyz")


@pytest.mark.parametrize(("kwargs", "flag"), [
    pytest.param({"regex": ["("]}, "--regex", id="regex"),
    pytest.param({"ignore": ["[a"]}, "--ignore", id="ignore"),
    pytest.param({"glob": [""]}, "--glob", id="empty-glob"),
    pytest.param({"ignore_glob": ["[z-a]"]}, "--ignore-glob", id="reversed-range"),
])
def test_bad_patterns_are_one_line_usage_errors(kwargs: dict[str, list[str]], flag: str) -> None:
    with pytest.raises(UsageError) as caught:
        Filters.build(**kwargs)
    message = caught.value.user_message()
    assert isinstance(caught.value, MangoError)
    assert flag in message and "\n" not in message
