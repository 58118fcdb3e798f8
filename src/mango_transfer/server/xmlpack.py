"""Lenient reading and strict writing of the iRODS XML packing ("irodsProt=1").

python-irodsclient escapes only ``& < >`` and sends control characters raw, so a real XML parser
would reject legitimate file names.  We therefore tokenize tags with a regular expression and keep
leaf text as-is (after entity decoding).  Replies, on the other hand, are parsed by PRC with
``xml.etree``, so everything we emit is well-formed and fully escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .codes import SYS_PACK_INSTRUCT_FORMAT_ERR, IrodsError

_TAG = re.compile(r"<(/?)([A-Za-z_][\w.\-]*)\s*(/?)>")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# Characters XML 1.0 forbids; PRC's etree parser would choke on them in a reply.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _decode_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _NAMED[name]


def unescape(text: str) -> str:
    return _ENTITY.sub(_decode_entity, text) if "&" in text else text


def escape(text: str) -> str:
    text = (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )
    return _FORBIDDEN.sub("\ufffd", text)


@dataclass
class Element:
    """One parsed element: leaf elements carry text, inner elements carry children."""

    tag: str
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def find_all(self, tag: str) -> Iterator[Element]:
        return (child for child in self.children if child.tag == tag)

    def get_str(self, tag: str, default: str = "") -> str:
        child = self.find(tag)
        return child.text if child is not None else default

    def get_int(self, tag: str, default: int = 0) -> int:
        child = self.find(tag)
        if child is None or not child.text.strip():
            return default
        try:
            return int(float(child.text.strip()))
        except ValueError as exc:
            raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, f"bad integer in <{tag}>") from exc

    def kvp(self, tag: str = "KeyValPair_PI") -> dict[str, str]:
        """Keys come first, then values (iRODS' layout), so pair them by position."""
        node = self.find(tag)
        if node is None:
            return {}
        keys = [child.text for child in node.find_all("keyWord")]
        values = [child.text for child in node.find_all("svalue")]
        values += [""] * (len(keys) - len(values))
        return dict(zip(keys, values, strict=False))


def parse(data: bytes) -> Element:
    """Parse one packed struct; raises IrodsError on unbalanced tags."""
    text = data.decode("utf-8", errors="surrogateescape").rstrip("\x00")
    document = Element("#document")
    stack = [document]
    position = 0
    for match in _TAG.finditer(text):
        closing, tag, self_closing = match.group(1), match.group(2), match.group(3)
        if closing:
            if len(stack) < 2 or stack[-1].tag != tag:
                raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, f"unbalanced </{tag}>")
            element = stack.pop()
            if not element.children:
                element.text = unescape(text[position : match.start()])
        elif self_closing:
            stack[-1].children.append(Element(tag))
        else:
            element = Element(tag)
            stack[-1].children.append(element)
            stack.append(element)
        position = match.end()
    if len(stack) != 1 or len(document.children) != 1:
        raise IrodsError(SYS_PACK_INSTRUCT_FORMAT_ERR, "malformed packed struct")
    return document.children[0]




@dataclass
class Struct:
    """An ordered struct to serialize: ``Struct('Foo_PI', [('a', 1), ('b', 'x')])``."""

    tag: str
    fields: list[tuple[str, object]]

    def render(self) -> str:
        return f"<{self.tag}>{''.join(_render_field(n, v) for n, v in self.fields)}</{self.tag}>"

    def encode(self) -> bytes:
        return self.render().encode("utf-8", errors="surrogateescape")


def _render_field(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Struct):
        return value.render()
    if isinstance(value, float):
        value = int(value)
    return f"<{name}>{escape(str(value))}</{name}>"


def kvp_struct(pairs: dict[str, str], tag: str = "KeyValPair_PI") -> Struct:
    keys: list[tuple[str, object]] = [("keyWord", k) for k in pairs]
    values: list[tuple[str, object]] = [("svalue", v) for v in pairs.values()]
    return Struct(tag, [("ssLen", len(pairs)), *keys, *values])


def repeated(name: str, values: Iterable[object]) -> list[tuple[str, object]]:
    return [(name, value) for value in values]
