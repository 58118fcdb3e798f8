"""The native (binary) packing the iCommands use, checked against bytes a real 5.0.2 zone and
its iCommands exchanged (captured on loopback), and the server's coverage of it."""

from __future__ import annotations

from mango_transfer.server import native
from mango_transfer.server.api import HANDLERS
from mango_transfer.server.xmlpack import Struct

NULL = b"%@#ANULLSTR$%\0"
# ``ils -A``: GenQueryInp with a zone hint, one select (COLL_INHERITANCE), one condition.
GENQUERY_INP = (b"\0\0\x01\0" + b"\0" * 12 + b"\0\0\0\x01zone\0tempZone\0" + b"\0\0\0\x01\0\0\x01\xfa"
                b"\0\0\0\x01" + b"\0\0\0\x01\0\0\x01\xf5= '/tempZone/home/bob'\0")
# ``iput`` of a 6-byte file: the bytes ride along (dataIncluded), forced.
PUT_INP = (b"/tempZone/home/bob/natcap.txt\0" + b"\0" * 16 + b"\0\0\0\0\0\0\0\x06" + b"\0\0\0\0\0\0\0\x01"
           + NULL + b"\0\0\0\x05dataType\0forceFlag\0defRescName\0dataSize\0dataIncluded\0"
           b"generic\0\0demoResc\0006\0\0")
# ``ichmod read rods``: modAccessControlInp, an empty zone string.
CHMOD_INP = b"\0\0\0\0read\0rods\0\0/tempZone/home/bob/natcap.txt\0"
# The reply to OBJ_STAT of a 6-byte object.
OBJ_STAT_OUT = (b"\0\0\0\0\0\0\0\x06\0\0\0\x01\0\0\0\x0011943\0\0bob\0tempZone\0"
                b"01796162658\x0001796162658\0" + NULL)


def test_requests_decode_as_their_xml_form_would() -> None:
    query = native.decode(GENQUERY_INP, "GenQueryInp_PI")
    assert query.get_int("maxRows") == 256 and query.kvp() == {"zone": "tempZone"}
    selects = query.find("InxIvalPair_PI")
    conditions = query.find("InxValPair_PI")
    assert selects is not None and conditions is not None
    assert [c.text for c in selects.find_all("inx")] == ["506"]
    assert [c.text for c in conditions.find_all("svalue")] == ["= '/tempZone/home/bob'"]
    put = native.decode(PUT_INP, "DataObjInp_PI")
    assert put.get_str("objPath") == "/tempZone/home/bob/natcap.txt"
    assert put.get_int("dataSize") == 6 and put.get_int("oprType") == 1
    assert put.find("SpecColl_PI") is None
    assert put.kvp() == {"dataType": "generic", "forceFlag": "", "defRescName": "demoResc",
                         "dataSize": "6", "dataIncluded": ""}
    chmod = native.decode(CHMOD_INP, "modAccessControlInp_PI")
    assert [chmod.get_str(n) for n in ("accessLevel", "userName", "zone", "path")] == [
        "read", "rods", "", "/tempZone/home/bob/natcap.txt"]


def test_decoding_then_encoding_gives_the_same_bytes() -> None:
    for data, name in ((GENQUERY_INP, "GenQueryInp_PI"), (PUT_INP, "DataObjInp_PI"),
                       (CHMOD_INP, "modAccessControlInp_PI"), (OBJ_STAT_OUT, "RodsObjStat_PI")):
        assert native.encode(native.decode(data, name)) == data, name


def test_a_reply_built_as_xml_packs_like_the_real_servers() -> None:
    stat = Struct("RodsObjStat_PI", [
        ("objSize", 6), ("objType", 1), ("dataMode", 0), ("dataId", "11943"), ("chksum", ""),
        ("ownerName", "bob"), ("ownerZone", "tempZone"), ("createTime", "01796162658"),
        ("modifyTime", "01796162658")])
    assert native.encode_xml(stat.encode()) == OBJ_STAT_OUT


def test_genquery_output_packs_every_attribute_slot() -> None:
    result = Struct("SqlResult_PI", [("attriInx", 0), ("reslen", 50), ("value", "bob")])
    out = Struct("GenQueryOut_PI", [("rowCnt", 1), ("attriCnt", 1), ("continueInx", 0),
                                    ("totalRowCount", 0), ("SqlResult_PI", result)])
    packed = native.encode_xml(out.encode())
    assert packed.startswith(b"\0\0\0\x01\0\0\0\x01" + b"\0" * 8 + b"\0\0\0\0\0\0\x002bob\0")
    assert packed.count(NULL) == 49  # the 49 unused columns: null value pointers
    back = native.decode(packed, "GenQueryOut_PI")
    assert [r.get_str("value") for r in back.find_all("SqlResult_PI")][:2] == ["bob", ""]


def test_every_handled_api_has_a_native_layout() -> None:
    for number in HANDLERS:
        assert number in native.REQUEST_STRUCTS, number
        name = native.REQUEST_STRUCTS[number]
        if name is not None:
            assert native.layout(name)
