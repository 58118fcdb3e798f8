"""The filter dialect and rules of upload/download/sync (rclone's meaning), and their folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from mango_transfer.errors import UsageError
from mango_transfer.pathfilter import PathFilter, compile_glob, rule_lines


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    # rclone's documented examples (docs/content/filtering.md), on relative paths
    pytest.param("*.jpg", "file.jpg", True, id="wildcard"),
    pytest.param("*.jpg", "dir/file.jpg", True, id="wildcard-deep"),
    pytest.param("*.jpg", "file.png", False, id="wildcard-other"),
    pytest.param("/*.jpg", "file2.jpg", True, id="rooted"),
    pytest.param("/*.jpg", "dir/file.jpg", False, id="rooted-not-deeper"),
    pytest.param("*.{jpg,png}", "dir/file.png", True, id="alternates"),
    pytest.param("*.{jpg,png}", "file.gif", False, id="alternates-other"),
    pytest.param("dir/**", "dir/anyfile", True, id="path-wildcard"),
    pytest.param("dir/**", "subdir/dir/subsubdir/anyfile", True, id="path-wildcard-deep"),
    pytest.param("dir/**", "subdir/file.png", False, id="path-wildcard-other"),
    pytest.param("*.t?t", "dir/file.tzt", True, id="any-char"),
    pytest.param("*.t?t", "file.qxt", False, id="any-char-other"),
    pytest.param("*.[a-z]", "dir/file.b", True, id="range"),
    pytest.param("*.[a-z]", "file.0", False, id="range-other"),
    pytest.param(r"*.\?\?\?", "file.???", True, id="escape"),
    pytest.param(r"*.\?\?\?", "file.abc", False, id="escape-literal"),
    pytest.param("file.jpg", "directory/file.jpg", True, id="whole-component"),
    pytest.param("file.jpg", "afile.jpg", False, id="not-part-of-a-name"),
    pytest.param("/file.jpg", "directory/file.jpg", False, id="rooted-name"),
    pytest.param("potato", "POTATO", False, id="case-sensitive"),
    # the edges of our subset
    pytest.param("a/**/b", "a/b", False, id="globstar-needs-a-folder"),
    pytest.param("a/**/b", "a/x/y/b", True, id="globstar-levels"),
    pytest.param("a**b", "a/x/b", True, id="globstar-inside-a-name"),
    pytest.param("a*b", "a/b", False, id="star-stays-in-a-level"),
    pytest.param("a?b", "a/b", False, id="question-never-slash"),
    pytest.param("a[!x]b", "a/b", False, id="class-never-slash"),
    pytest.param("[!.]*", "x/.hidden", False, id="negated-class"),
    pytest.param("a{b,{c,d}}e", "ade", True, id="nested-alternates"),
    pytest.param("{a,b/c}/f", "x/b/c/f", True, id="alternate-with-a-slash"),
    pytest.param("file[.txt", "file[.txt", True, id="unclosed-bracket-is-literal"),
    pytest.param("*.txt", "a\nb.txt", True, id="newline-in-a-name"),
    pytest.param("*.txt", "a.txt\n", False, id="no-trailing-newline-slack"),
])
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert (compile_glob(pattern).search(path) is not None) is expected


@pytest.mark.parametrize(("pattern", "why"), [
    pytest.param("***", "too many stars", id="three-stars"),
    pytest.param("a{b", "'{' without", id="open-brace"),
    pytest.param("a}b", "'}' without", id="close-brace"),
    pytest.param("[z-a]", "bad character range", id="reversed-range"),
    pytest.param("trailing\\", "lone", id="lone-backslash"),
])
def test_bad_globs_are_one_line(pattern: str, why: str) -> None:
    with pytest.raises(UsageError) as caught:
        rule_lines(exclude=[pattern])
    message = caught.value.user_message()
    assert "--exclude" in message and why in message and "\n" not in message


def _filter(**flags: list[str]) -> PathFilter:
    return PathFilter.from_lines(rule_lines(**flags))


def test_no_rules_take_everything() -> None:
    nothing = _filter()
    assert not nothing.active
    assert nothing.reason("a/b/c") is None and not nothing.prunes("a")


def test_include_implies_exclude_everything_else() -> None:
    only = _filter(include=["*.csv"])
    assert only.reason("a/b.csv") is None
    assert only.reason("a/b.tsv") == "matches no --include"
    assert not only.prunes("a")  # a floating include may match in any folder


def test_first_match_wins_includes_before_excludes() -> None:
    """rclone's order: includes, then excludes, whatever the command line order."""
    rules = _filter(exclude=["secret*"], include=["*.csv"])
    assert rules.reason("secret.csv") is None  # the include comes first
    rules = _filter(filter=["- secret*", "+ *.csv", "- *"])
    assert rules.reason("secret.csv") == "excluded by '- secret*'"
    assert rules.reason("a.csv") is None and rules.reason("a.txt") == "excluded by '- *'"


def test_excluded_folder_is_pruned_with_everything_below() -> None:
    rules = _filter(exclude=["tmp/", "*.bak"])
    assert rules.prunes("tmp") and rules.prunes("a/tmp") and rules.prunes("a/tmp/deeper")
    assert not rules.prunes("a") and not rules.prunes("tmpfile")
    assert rules.reason("a/tmp/x.csv") == "inside an excluded folder"
    assert rules.reason("tmp") is None  # a *file* named tmp: dir rules match folders only
    assert rules.reason("a/x.bak") == "excluded by '- *.bak'"


def test_anchored_include_prunes_the_folders_it_cannot_match() -> None:
    rules = _filter(include=["/a/*.jpg"])
    assert not rules.prunes("a")
    assert rules.prunes("b") and rules.prunes("a/x")
    assert rules.reason("a/p.jpg") is None and rules.reason("b/p.jpg") is not None


def test_floating_include_with_a_folder_prunes_nothing() -> None:
    """rclone would prune ``x`` here on a local walk and miss x/a/p.jpg, which its own file
    rule takes; we walk every folder a file rule could still take a file in."""
    rules = _filter(include=["a/*.jpg"])
    assert not rules.prunes("x") and rules.reason("x/a/p.jpg") is None
    assert rules.reason("x/p.jpg") == "matches no --include"


def test_include_folder_rule_takes_no_file() -> None:
    """rclone: ``--include /directory/`` only limits the walk; it matches no file."""
    rules = _filter(include=["/dir/"])
    assert not rules.prunes("dir") and rules.prunes("other")
    assert rules.reason("dir/f") == "matches no --include"


@pytest.mark.parametrize(("flags", "path", "taken"), [
    pytest.param({"include": ["*.jpg"], "exclude": ["tmp/"]}, "tmp/a.jpg", True,
                 id="an-include-first-keeps-the-folder-walked"),
    pytest.param({"filter": ["- tmp/", "+ *.jpg", "- *"]}, "tmp/a.jpg", False,
                 id="an-exclude-first-prunes-it"),
    pytest.param({"filter": ["+ /keep/**", "- *"]}, "keep/a/b", True, id="globstar-include"),
    pytest.param({"filter": ["+ /keep/**", "- *"]}, "other/a", False, id="globstar-other"),
])
def test_scope_is_the_same_through_the_folders_and_the_file_rules(
    flags: dict[str, list[str]], path: str, taken: bool,
) -> None:
    """Pruned folders never hide a file the file rules would take, and the reverse."""
    rules = _filter(**flags)
    folder = path.rpartition("/")[0]
    assert (rules.reason(path) is None) is taken
    assert (rules.file_reason(path) is None and not rules.prunes(folder)) is taken


def test_from_files_skip_comments_and_blanks(tmp_path: Path) -> None:
    excludes = tmp_path / "exclude.txt"
    excludes.write_text("# a sample exclude rule file\n\n*.bak\n  file2.jpg  \n; old\n",
                        encoding="utf-8")
    filters = tmp_path / "filter.txt"
    filters.write_text("- /secret/**\n+ *.txt\n- *\n", encoding="utf-8")
    assert rule_lines(exclude_from=[str(excludes)]) == ("- *.bak", "- file2.jpg")
    rules = _filter(filter_from=[str(filters)])
    assert rules.prunes("secret") and rules.reason("a/b.txt") is None
    assert rules.reason("a/b.csv") == "excluded by '- *'"


@pytest.mark.parametrize(("flags", "needle"), [
    pytest.param({"exclude_from": ["MISSING"]}, "--exclude-from", id="missing-file"),
    pytest.param({"filter": ["*.tmp"]}, "is not a rule", id="filter-without-sign"),
    pytest.param({"include": [""]}, "empty pattern", id="empty"),
])
def test_bad_rules_are_one_line(tmp_path: Path, flags: dict[str, list[str]],
                                needle: str) -> None:
    flags = {k: [str(tmp_path / "nope.txt") if v == "MISSING" else v for v in vs]
             for k, vs in flags.items()}
    with pytest.raises(UsageError) as caught:
        rule_lines(**flags)
    assert needle in caught.value.user_message()
    assert "\n" not in caught.value.user_message()


def test_options_carry_the_rules_through_a_tasks_json() -> None:
    """A scale-out task reads its options back from JSON: the rules arrive as a list, and
    every check of the options still runs when they are built again."""
    from mango_transfer.engine.options import TransferOptions

    options = TransferOptions(filters=["- *.tmp"])  # type: ignore[arg-type]
    assert options.filters == ("- *.tmp",)
    scope = options.path_filter()
    assert scope is not None and scope.reason("a/b.tmp") == "excluded by '- *.tmp'"
    with pytest.raises(UsageError, match="--small-files"):
        TransferOptions(small_files="bogus")
