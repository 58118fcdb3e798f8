"""The iRODS native (binary) packing, ``irodsProt=0``, as the C client library speaks it.

The iCommands (and every client built on the C library) pack API structs in this form rather
than XML.  The rules, from the wire:

- ``int`` is 4 bytes and ``double`` 8 bytes (a 64-bit integer), big-endian; ``int16`` 2 bytes;
  no alignment or padding anywhere.
- a string, fixed-size (``str x[N]``) or pointer (``str *x``), is its bytes and one NUL; a fixed
  size ``N`` bounds the length, it is never padded to ``N``.
- ``char``/``bin`` buffers are raw bytes of the declared length.
- a null pointer of any type is the marker string ``%@#ANULLSTR$%`` and its NUL; a pointer whose
  element count resolves to zero may also be sent as nothing at all.
- a nested struct is its fields in order, with no framing.
- array sizes name an ``int`` packed earlier in the same struct or an enclosing one, or a constant.

Handlers only ever see the XML form: a native request is decoded into the same ``Element`` tree
that ``xmlpack.parse`` yields (``bin`` fields as base64 text, as XML carries them), and a reply
built as XML is re-encoded from its parsed tree.  The layouts below are iRODS' packing
instructions for the structs this server receives or sends.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass, field

from .codes import SYS_PACK_INSTRUCT_FORMAT_ERR, USER_PACKSTRUCT_INPUT_ERR, IrodsError
from .xmlpack import Element, parse

NULL_MARKER = b"%@#ANULLSTR$%"

CONSTANTS = {
    "HEADER_TYPE_LEN": 128, "NAME_LEN": 64, "CHKSUM_LEN": 256, "LONG_NAME_LEN": 256,
    "MAX_NAME_LEN": 1088, "SHORT_STR_LEN": 32, "TIME_LEN": 32, "DIR_LEN": 256,
    "ERR_MSG_LEN": 1024, "MAX_SQL_ATTR": 50, "META_STR_LEN": 2700, "CHALLENGE_LEN": 64,
    "RESPONSE_LEN": 16, "MAX_PASSWORD_LEN": 50,
}

LAYOUTS = {
    "STR_PI": "str myStr;",
    "INT_PI": "int myInt;",
    "BUF_LEN_PI": "int myInt;",
    "RErrMsg_PI": "int status; str msg[ERR_MSG_LEN];",
    "RError_PI": "int count; struct *RErrMsg_PI[count];",
    "KeyValPair_PI": "int ssLen; str *keyWord[ssLen]; str *svalue[ssLen];",
    "InxIvalPair_PI": "int iiLen; int *inx(iiLen); int *ivalue(iiLen);",
    "InxValPair_PI": "int isLen; int *inx(isLen); str *svalue[isLen];",
    "SpecColl_PI": "int collClass; int type; str collection[MAX_NAME_LEN]; str objPath[MAX_NAME_LEN]; "
                   "str resource[NAME_LEN]; str rescHier[MAX_NAME_LEN]; str phyPath[MAX_NAME_LEN]; "
                   "str cacheDir[MAX_NAME_LEN]; int cacheDirty; int replNum;",
    "DataObjInp_PI": "str objPath[MAX_NAME_LEN]; int createMode; int openFlags; double offset; "
                     "double dataSize; int numThreads; int oprType; struct *SpecColl_PI; "
                     "struct KeyValPair_PI;",
    "DataObjCopyInp_PI": "struct DataObjInp_PI; struct DataObjInp_PI;",
    "OpenedDataObjInp_PI": "int l1descInx; int len; int whence; int oprType; double offset; "
                           "double bytesWritten; struct KeyValPair_PI;",
    "fileLseekOut_PI": "double offset;",
    "PortList_PI": "int portNum; int cookie; int sock; int windowSize; str hostAddr[LONG_NAME_LEN];",
    "PortalOprOut_PI": "int status; int l1descInx; int numThreads; str chksum[NAME_LEN]; "
                       "struct PortList_PI;",
    "CollInpNew_PI": "str collName[MAX_NAME_LEN]; int flags; int oprType; struct KeyValPair_PI;",
    "CollOprStat_PI": "int filesCnt; int totalFileCnt; double bytesWritten; "
                      "str lastObjPath[MAX_NAME_LEN];",
    "GenQueryInp_PI": "int maxRows; int continueInx; int partialStartIndex; int options; "
                      "struct KeyValPair_PI; struct InxIvalPair_PI; struct InxValPair_PI;",
    "SqlResult_PI": "int attriInx; int reslen; str *value(rowCnt)(reslen);",
    "GenQueryOut_PI": "int rowCnt; int attriCnt; int continueInx; int totalRowCount; "
                      "struct SqlResult_PI[MAX_SQL_ATTR];",
    "specificQueryInp_PI": "str *sql; str *arg1; str *arg2; str *arg3; str *arg4; str *arg5; "
                           "str *arg6; str *arg7; str *arg8; str *arg9; str *arg10; int maxRows; "
                           "int continueInx; int rowOffset; int options; struct KeyValPair_PI;",
    "BulkOprInp_PI": "str objPath[MAX_NAME_LEN]; struct GenQueryOut_PI; struct KeyValPair_PI;",
    "TransferStat_PI": "int numThreads; int flags; double bytesWritten;",
    "RodsObjStat_PI": "double objSize; int objType; int dataMode; str dataId[NAME_LEN]; "
                      "str chksum[NAME_LEN]; str ownerName[NAME_LEN]; str ownerZone[NAME_LEN]; "
                      "str createTime[TIME_LEN]; str modifyTime[TIME_LEN]; struct *SpecColl_PI;",
    "ModAVUMetadataInp_PI": "str *arg0; str *arg1; str *arg2; str *arg3; str *arg4; str *arg5; "
                            "str *arg6; str *arg7; str *arg8; str *arg9; struct KeyValPair_PI;",
    "modAccessControlInp_PI": "int recursiveFlag; str *accessLevel; str *userName; str *zone; "
                              "str *path;",
    "generalAdminInp_PI": "str *arg0; str *arg1; str *arg2; str *arg3; str *arg4; str *arg5; "
                          "str *arg6; str *arg7; str *arg8; str *arg9;",
    "userAdminInp_PI": "str *arg0; str *arg1; str *arg2; str *arg3; str *arg4; str *arg5; "
                       "str *arg6; str *arg7; str *arg8; str *arg9;",
    "BinBytesBuf_PI": "int buflen; bin *buf(buflen);",
    "BytesBuf_PI": "int buflen; char *buf(buflen);",
    "authRequestOut_PI": "bin *challenge(CHALLENGE_LEN);",
    "authResponseInp_PI": "bin *response(RESPONSE_LEN); str *username;",
    "DataObjInfo_PI": "str objPath[MAX_NAME_LEN]; str rescName[NAME_LEN]; str rescHier[MAX_NAME_LEN]; "
                      "str dataType[NAME_LEN]; double dataSize; str chksum[NAME_LEN]; "
                      "str version[NAME_LEN]; str filePath[MAX_NAME_LEN]; str dataOwnerName[NAME_LEN]; "
                      "str dataOwnerZone[NAME_LEN]; int replNum; int replStatus; "
                      "str statusString[NAME_LEN]; double dataId; double collId; int dataMapId; "
                      "int flags; str dataComments[LONG_NAME_LEN]; str dataMode[SHORT_STR_LEN]; "
                      "str dataExpiry[TIME_LEN]; str dataCreate[TIME_LEN]; str dataModify[TIME_LEN]; "
                      "str dataAccess[NAME_LEN]; int dataAccessInx; int writeFlag; "
                      "str destRescName[NAME_LEN]; str backupRescName[NAME_LEN]; "
                      "str subPath[MAX_NAME_LEN]; int *specColl; int regUid; int otherFlags; "
                      "struct KeyValPair_PI; str in_pdmo[MAX_NAME_LEN]; int *next; double rescId; "
                      "str dataAccessTime[TIME_LEN];",
    "ModDataObjMeta_PI": "struct *DataObjInfo_PI; struct KeyValPair_PI;",
    "pamAuthRequestInp_PI": "str *pamUser; str *pamPassword; int timeToLive;",
    "pamAuthRequestOut_PI": "str *irodsPamPassword;",
    "authPlugReqInp_PI": "str auth_scheme_[NAME_LEN]; str context_[MAX_NAME_LEN];",
    "authPlugReqOut_PI": "str result_[MAX_NAME_LEN];",
}

_JSON = "BinBytesBuf_PI"
# API number -> the struct its request body carries (None: no body).
REQUEST_STRUCTS: dict[int, str | None] = {
    601: "DataObjInp_PI", 602: "DataObjInp_PI", 606: "DataObjInp_PI", 608: "DataObjInp_PI",
    615: "DataObjInp_PI", 622: "ModDataObjMeta_PI", 626: "INT_PI", 627: "DataObjCopyInp_PI",
    628: "DataObjInp_PI",
    629: "DataObjInp_PI", 633: "DataObjInp_PI", 673: "OpenedDataObjInp_PI",
    674: "OpenedDataObjInp_PI", 675: "OpenedDataObjInp_PI", 676: "OpenedDataObjInp_PI",
    679: "CollInpNew_PI", 681: "CollInpNew_PI", 689: "BulkOprInp_PI", 696: "DataObjCopyInp_PI",
    701: "generalAdminInp_PI", 702: "GenQueryInp_PI", 703: None, 704: "authResponseInp_PI",
    706: "ModAVUMetadataInp_PI", 707: "modAccessControlInp_PI", 714: "userAdminInp_PI",
    722: "specificQueryInp_PI", 725: "pamAuthRequestInp_PI", 1201: "authPlugReqInp_PI",
    10220: "DataObjInp_PI", 20000: _JSON, 20002: _JSON, 20004: _JSON, 20007: _JSON, 110000: _JSON,
}

_ITEM = re.compile(r"^(\w+)\s*(\*?)\s*([A-Za-z_$][\w$]*)((?:\s*[\[(][^\])]+[\])])*)$")
_DIM = re.compile(r"([\[(])\s*([^\])]+?)\s*[\])]")


@dataclass(frozen=True)
class Item:
    """One field of a layout: ``kind`` is int/int16/double/str/char/bin or ``struct``."""

    kind: str
    name: str
    pointer: bool
    dims: tuple[str, ...] = ()   # [n]: element count (for a pointer: number of pointers)
    hints: tuple[str, ...] = ()  # (n): elements behind one pointer


_BASE_KINDS = {"int", "int16", "double", "str", "piStr", "char", "bin", "struct"}
_cache: dict[str, list[Item]] = {}


def layout(name: str) -> list[Item]:
    items = _cache.get(name)
    if items is None:
        if name not in LAYOUTS:
            raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, f"no native layout for {name}")
        items = [_parse_item(text.strip()) for text in LAYOUTS[name].split(";") if text.strip()]
        _cache[name] = items
    return items


def _parse_item(text: str) -> Item:
    match = _ITEM.match(text)
    if match is None or match.group(1) not in _BASE_KINDS:
        raise ValueError(f"bad layout item {text!r}")
    kind = "str" if match.group(1) == "piStr" else match.group(1)
    dims = tuple(size for bracket, size in _DIM.findall(match.group(4)) if bracket == "[")
    hints = tuple(size for bracket, size in _DIM.findall(match.group(4)) if bracket == "(")
    return Item(kind, match.group(3), bool(match.group(2)), dims, hints)


@dataclass
class _Scope:
    """Integers packed so far, innermost struct first, for resolving array sizes."""

    values: dict[str, int] = field(default_factory=dict)
    parent: _Scope | None = None

    def resolve(self, token: str) -> int:
        if token.isdigit():
            return int(token)
        scope: _Scope | None = self
        while scope is not None:
            if token in scope.values:
                return max(0, scope.values[token])
            scope = scope.parent
        if token in CONSTANTS:
            return CONSTANTS[token]
        raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, f"cannot resolve array size {token}")


def _count(sizes: tuple[str, ...], scope: _Scope) -> int:
    total = 1
    for size in sizes:
        total *= scope.resolve(size)
    return total


# -- decoding (request bodies) -------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.at + count > len(self.data):
            raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, "native struct ends early")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk

    def string(self, limit: int | None) -> str:
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, "unterminated string")
        raw = self.data[self.at:end]
        if limit is not None and len(raw) >= limit:
            raise IrodsError(USER_PACKSTRUCT_INPUT_ERR, "string longer than its field")
        self.at = end + 1
        return raw.decode("utf-8", errors="surrogateescape")

    def null_marker(self) -> bool:
        end = self.at + len(NULL_MARKER)
        if self.data[self.at:end] == NULL_MARKER and self.data[end:end + 1] == b"\0":
            self.at = end + 1
            return True
        return False


def decode(data: bytes, name: str) -> Element:
    """A native body as the ``Element`` tree the XML form of the same struct parses to."""
    reader = _Reader(data)
    return _decode_struct(reader, name, None)


def _decode_struct(reader: _Reader, name: str, parent: _Scope | None) -> Element:
    scope = _Scope(parent=parent)
    element = Element(name)
    for item in layout(name):
        element.children.extend(_decode_item(reader, item, scope))
    return element


def _decode_item(reader: _Reader, item: Item, scope: _Scope) -> list[Element]:
    if item.pointer:
        if reader.null_marker():
            return []
        pointers = _count(item.dims, scope) if item.dims else 1
        per_pointer = _count(item.hints, scope)
        if per_pointer <= 0 or pointers <= 0:
            return []
        out: list[Element] = []
        for _ in range(pointers):
            out.extend(_decode_values(reader, item, per_pointer, scope, pointer=True))
        return out
    return _decode_values(reader, item, _count(item.dims, scope), scope, pointer=False)


def _decode_values(reader: _Reader, item: Item, count: int, scope: _Scope, *,
                   pointer: bool) -> list[Element]:
    kind = item.kind
    if kind == "struct":
        return [_decode_struct(reader, item.name, scope) for _ in range(count)]
    if kind in ("char", "bin"):
        raw = reader.take(count)
        text = base64.b64encode(raw).decode() if kind == "bin" else raw.decode(
            "utf-8", errors="surrogateescape")
        return [Element(item.name, text)]
    if kind == "str":
        sizes = item.hints if pointer else item.dims
        limit = scope.resolve(sizes[-1]) if sizes else None
        strings = count // limit if limit else 1
        return [Element(item.name, reader.string(limit)) for _ in range(max(1, strings))]
    fmt, width = {"int": (">i", 4), "int16": (">h", 2), "double": (">q", 8)}[kind]
    values = [struct.unpack(fmt, reader.take(width))[0] for _ in range(count)]
    if kind == "int" and values and not pointer:
        scope.values[item.name] = values[0]
    return [Element(item.name, str(value)) for value in values]


# -- encoding (replies) --------------------------------------------------------------------
def encode_xml(xml: bytes) -> bytes:
    """Re-pack one XML struct (as the handlers build replies) in the native form."""
    return encode(parse(xml))


def encode(element: Element) -> bytes:
    out = bytearray()
    _encode_struct(out, element, element.tag, None)
    return bytes(out)


class _Fields:
    """An element's children by tag, consumed in order."""

    def __init__(self, element: Element | None) -> None:
        self.by_tag: dict[str, list[Element]] = {}
        for child in element.children if element is not None else []:
            self.by_tag.setdefault(child.tag, []).append(child)

    def take(self, tag: str, count: int | None = None) -> list[Element]:
        queue = self.by_tag.get(tag, [])
        taken = queue[:] if count is None else queue[:count]
        del queue[:len(taken)]
        return taken


def _encode_struct(out: bytearray, element: Element | None, name: str, parent: _Scope | None) -> None:
    scope = _Scope(parent=parent)
    fields = _Fields(element)
    for item in layout(name):
        _encode_item(out, item, fields, scope)


def _encode_item(out: bytearray, item: Item, fields: _Fields, scope: _Scope) -> None:
    if item.pointer:
        pointers = _count(item.dims, scope) if item.dims else 1
        per_pointer = _count(item.hints, scope)
        values = fields.take(item.name)
        if not values or pointers <= 0 or per_pointer <= 0:
            out += NULL_MARKER + b"\0"
            return
        if item.kind == "struct":
            for index in range(pointers):
                _encode_struct(out, values[index] if index < len(values) else None, item.name, scope)
            return
        if item.kind in ("char", "bin"):
            for index in range(pointers):
                text = values[index].text if index < len(values) else ""
                _encode_value(out, item, text, per_pointer, scope, pointer=True)
            return
        if item.kind == "str":
            needed = pointers * _strings_per_pointer(item, per_pointer, scope)
            texts = [v.text for v in values[:needed]] + [""] * max(0, needed - len(values))
            for text in texts:
                _encode_value(out, item, text, per_pointer, scope, pointer=True)
            return
        needed = pointers * per_pointer
        texts = [v.text for v in values[:needed]] + ["0"] * max(0, needed - len(values))
        for text in texts:
            _encode_number(out, item, text, scope, first=False)
        return
    count = _count(item.dims, scope)
    if item.kind == "struct":
        values = fields.take(item.name, count)
        for index in range(count):
            _encode_struct(out, values[index] if index < len(values) else None, item.name, scope)
        return
    if item.kind == "str":
        strings = count // scope.resolve(item.dims[-1]) if item.dims else 1
        values = fields.take(item.name, strings)
        texts = [v.text for v in values] + [""] * (strings - len(values))
        for text in texts:
            _encode_value(out, item, text, count, scope, pointer=False)
        return
    if item.kind in ("char", "bin"):
        values = fields.take(item.name, 1)
        _encode_value(out, item, values[0].text if values else "", count, scope, pointer=False)
        return
    values = fields.take(item.name, count)
    texts = [v.text for v in values] + ["0"] * (count - len(values))
    for index, text in enumerate(texts):
        _encode_number(out, item, text, scope, first=index == 0)


def _strings_per_pointer(item: Item, per_pointer: int, scope: _Scope) -> int:
    if item.kind != "str" or not item.hints:
        return 1
    return per_pointer // max(1, scope.resolve(item.hints[-1]))


def _encode_value(out: bytearray, item: Item, text: str, size: int, scope: _Scope, *,
                  pointer: bool) -> None:
    if item.kind == "str":
        sizes = item.hints if pointer else item.dims
        limit = scope.resolve(sizes[-1]) if sizes else None
        raw = text.encode("utf-8", errors="surrogateescape")
        if limit is not None and len(raw) >= limit:
            raw = raw[:limit - 1]
        out += raw + b"\0"
    elif item.kind in ("char", "bin"):
        raw = base64.b64decode(text) if item.kind == "bin" else text.encode(
            "utf-8", errors="surrogateescape")
        out += raw[:size].ljust(size, b"\0")
    else:
        _encode_number(out, item, text, scope, first=True)


def _encode_number(out: bytearray, item: Item, text: str, scope: _Scope, *, first: bool) -> None:
    try:
        value = int(float(text.strip() or "0"))
    except ValueError as exc:
        raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, f"bad number in <{item.name}>") from exc
    fmt = {"int": ">i", "int16": ">h", "double": ">q"}[item.kind]
    out += struct.pack(fmt, value)
    if item.kind == "int" and first:
        scope.values[item.name] = value
