"""GenQuery as PRC uses it: operators, case-insensitive queries, aggregates, ordering, offsets."""

from __future__ import annotations

from pathlib import Path

import irods.keywords as kw
import pytest
from irods.column import Between, Criterion, In, Like
from irods.manager.data_object_manager import Server_Checksum_Warning
from irods.message import RErrorStack
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from tests.conftest import write_file


@pytest.fixture
def populated(session: iRODSSession, remote_dir: str) -> str:
    session.collections.create(f"{remote_dir}/sub")
    for index, size in enumerate((10, 20, 30, 40)):
        with session.data_objects.open(f"{remote_dir}/f{index}.txt", "w") as handle:
            handle.write(b"x" * size)
    with session.data_objects.open(f"{remote_dir}/sub/Deep.TXT", "w") as handle:
        handle.write(b"y" * 5)
    return remote_dir


def _names(query) -> list[str]:  # type: ignore[no-untyped-def]
    return [row[DataObject.name] for row in query]


def test_comparisons_and_in(session: iRODSSession, populated: str) -> None:
    base = session.query(DataObject.name).filter(Collection.name == populated)
    assert sorted(_names(base.filter(DataObject.size > 15))) == ["f1.txt", "f2.txt", "f3.txt"]
    assert sorted(_names(session.query(DataObject.name).filter(Collection.name == populated)
                         .filter(DataObject.size <= 20))) == ["f0.txt", "f1.txt"]
    assert sorted(_names(session.query(DataObject.name).filter(Collection.name == populated)
                         .filter(In(DataObject.name, ["f0.txt", "f3.txt"])))) == ["f0.txt", "f3.txt"]
    assert sorted(_names(session.query(DataObject.name).filter(Collection.name == populated)
                         .filter(Between(DataObject.size, ["15", "35"])))) == ["f1.txt", "f2.txt"]
    assert sorted(_names(session.query(DataObject.name).filter(Collection.name == populated)
                         .filter(Criterion("<>", DataObject.name, "f0.txt")))) == ["f1.txt", "f2.txt", "f3.txt"]


def test_like_recursive_and_case(session: iRODSSession, populated: str) -> None:
    rows = session.query(DataObject.name, Collection.name).filter(Like(Collection.name, f"{populated}%"))
    assert len(list(rows)) == 5
    assert _names(session.query(DataObject.name).filter(Like(DataObject.name, "%.TXT"))
                  .filter(Like(Collection.name, f"{populated}%"))) == ["Deep.TXT"]
    insensitive = session.query(DataObject.name, case_sensitive=False).filter(
        Like(DataObject.name, "%.txt")).filter(Like(Collection.name, f"{populated}%"))
    assert len(list(insensitive)) == 5


def test_aggregates_order_and_offset(session: iRODSSession, populated: str) -> None:
    from irods.query import Query  # noqa: F401 - PRC's aggregate API lives on the query

    total = session.query(DataObject.size).filter(Collection.name == populated).sum(DataObject.size)
    assert int(total.one()[DataObject.size]) == 100
    count = session.query(DataObject.id).filter(Collection.name == populated).count(DataObject.id)
    assert int(count.one()[DataObject.id]) == 4
    ordered = session.query(DataObject.name, DataObject.size).filter(
        Collection.name == populated).order_by(DataObject.size, order="desc")
    assert _names(ordered) == ["f3.txt", "f2.txt", "f1.txt", "f0.txt"]
    page = session.query(DataObject.name).filter(Collection.name == populated).order_by(
        DataObject.name).offset(1).limit(2)
    assert _names(page.execute()) == ["f1.txt", "f2.txt"]  # one batch of maxRows=2


def test_chksum_verify(session: iRODSSession, remote_dir: str, tmp_path: Path) -> None:
    local = write_file(tmp_path / "v.bin", b"verify me")
    session.data_objects.put(str(local), f"{remote_dir}/v.bin")
    with pytest.raises(Server_Checksum_Warning):  # no checksum registered yet: -862000 warning
        session.data_objects.chksum(f"{remote_dir}/v.bin", **{kw.VERIFY_CHKSUM_KW: ""},
                                    r_error=RErrorStack())
    session.data_objects.chksum(f"{remote_dir}/v.bin")
    assert session.data_objects.chksum(f"{remote_dir}/v.bin", **{kw.VERIFY_CHKSUM_KW: ""}) == ""
