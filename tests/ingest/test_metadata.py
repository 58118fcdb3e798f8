"""AVUs with mango-ingest's names, values and units; re-ingests never duplicate them."""

from __future__ import annotations

import pytest

from mango_transfer.avus import AvuOperation, metadata_operations
from mango_transfer.errors import UsageError
from mango_transfer.fileinfo import FileInfo
from mango_transfer.ingest.metadata import (
    MTIME_ATTRIBUTE,
    UNITS,
    Avu,
    MetadataRules,
    file_avus,
    mtime_value,
)

BIDS = r"sub-(?P<subject>[^/]+)/ses-(?P<session>[^/]+)/(?P<modality>[^/]+)/"
BIDS_FILE = "sub-01/ses-02/eeg/sub-01_ses-02_task-rest_eeg.edf"


def test_names_and_units_are_mango_ingests() -> None:
    assert MTIME_ATTRIBUTE == "mg.original_modify_time"
    assert UNITS == "analysis/mango_ingest"


@pytest.mark.parametrize(("mtime", "text"), [
    pytest.param(0, "1970-01-01T00:00:00+00:00", id="epoch"),
    pytest.param(1_727_786_096.999, "2024-10-01T12:34:56+00:00", id="truncated-not-rounded"),
])
def test_mtime_value_is_iso_utc_seconds(mtime: float, text: str) -> None:
    assert mtime_value(mtime) == text


def test_bids_path_and_mtime() -> None:
    info = FileInfo(BIDS_FILE, 10, 1_727_786_096)
    rules = MetadataRules.build(md_mtime=True, md_path=[BIDS])
    assert file_avus(info.path, info.mtime, rules) == [
        Avu("mg.subject", "01", UNITS),
        Avu("mg.session", "02", UNITS),
        Avu("mg.modality", "eeg", UNITS),
        Avu("mg.original_modify_time", "2024-10-01T12:34:56+00:00", UNITS),
    ]


def test_later_regex_wins_and_empty_or_missing_groups_are_left_out() -> None:
    rules = MetadataRules.build(md_path=[r"sub-(?P<subject>\d+)", r"(?P<subject>sub-\d+)",
                                         r"task-(?P<task>[a-z]*)(?P<run>_run-\d+)?"])
    assert file_avus("sub-01/x_task-_eeg.edf", 0, rules) == [Avu("mg.subject", "sub-01")]


def test_nothing_matches_nothing_added() -> None:
    rules = MetadataRules.build(md_path=[BIDS])
    assert file_avus("other/file.txt", 0, rules) == []
    assert not MetadataRules().enabled and rules.enabled


@pytest.mark.parametrize(("pattern", "words"), [
    pytest.param("(", "not a valid regular expression", id="invalid"),
    pytest.param(r"sub-(\d+)", "no named group", id="no-named-group"),
])
def test_bad_md_path_is_a_usage_error(pattern: str, words: str) -> None:
    with pytest.raises(UsageError, match=words) as caught:
        MetadataRules.build(md_path=[pattern])
    assert "--md-path" in caught.value.user_message()


def apply(current: list[Avu], operations: list[AvuOperation]) -> set[Avu]:
    """What iRODS would hold after the atomic call (an AVU is unique per object)."""
    result = set(current)
    for operation, avu in operations:
        assert (avu in result) is (operation == "remove"), "an operation iRODS would refuse"
        result.symmetric_difference_update({avu})
    return result


NEW = [Avu("mg.subject", "01"), Avu(MTIME_ATTRIBUTE, "2024-10-01T12:34:56+00:00")]
FOREIGN = Avu("project", "eeg-study", "")


def test_new_object_only_adds() -> None:
    assert metadata_operations([], NEW) == [AvuOperation("add", avu) for avu in NEW]


def test_reingest_of_same_file_does_nothing() -> None:
    assert metadata_operations([FOREIGN, *NEW], NEW) == []


def test_changed_mtime_replaces_and_duplicates_are_cleaned() -> None:
    """Two mtime AVUs, as mango-ingest leaves after a re-upload, become exactly one."""
    current = [FOREIGN, Avu("mg.subject", "01"),
               Avu(MTIME_ATTRIBUTE, "2023-01-01T00:00:00+00:00"),
               Avu(MTIME_ATTRIBUTE, "2023-06-01T00:00:00+00:00")]
    operations = metadata_operations(current, NEW)
    assert [op.operation for op in operations] == ["remove", "remove", "add"]
    assert apply(current, operations) == {FOREIGN, *NEW}


def test_prc_tuples_with_no_units_and_other_units() -> None:
    current: list[tuple[str, str, str | None]] = [("mg.subject", "01", None),
                                                  (MTIME_ATTRIBUTE, NEW[1].value, UNITS)]
    operations = metadata_operations(current, NEW)
    assert operations == [AvuOperation("remove", Avu("mg.subject", "01", "")),
                          AvuOperation("add", NEW[0])]


def test_repeated_desired_avus_are_added_once() -> None:
    assert metadata_operations([], [NEW[0], NEW[0]]) == [AvuOperation("add", NEW[0])]
