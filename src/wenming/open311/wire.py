"""The Open311 GeoReport v2 wire format: one tree of values rendered as JSON or as XML.

JSON is the mechanical mapping of the XML the standard shows: a list resource is a bare array of
its items, a single object (discovery, a service definition) an object, and a nested list (an
endpoint's formats, a definition's attributes) an array under the wrapper's name. XML starts with
the UTF-8 declaration, has the standard root elements and writes every element, empty when the
value is unknown. Datetimes are UTC as ``2026-11-27T08:15:30Z``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeAlias
from xml.etree import ElementTree as ET

from fastapi.responses import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class Format(StrEnum):
    """The two formats every resource exists in, chosen by the path's suffix."""

    JSON = "json"
    XML = "xml"


@dataclass(frozen=True)
class Many:
    """A nested list: XML ``<wrapper><item>…</item>…</wrapper>``, JSON ``"wrapper": [...]``."""

    item: str
    items: Sequence[Value]


Scalar: TypeAlias = str | int | float | bool | datetime | None
Value: TypeAlias = "Scalar | Many | dict[str, Value]"
Node: TypeAlias = "dict[str, Value]"


def timestamp(value: datetime) -> str:
    """A datetime as UTC without fractional seconds: ``2026-11-27T08:15:30Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_value(value: Value) -> object:
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, Many):
        return [_json_value(v) for v in value.items]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _xml_text(value: Scalar) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timestamp(value)
    return str(value)


def _xml_fill(element: ET.Element, value: Value) -> None:
    if isinstance(value, Many):
        for item in value.items:
            _xml_fill(ET.SubElement(element, value.item), item)
    elif isinstance(value, dict):
        for name, child in value.items():
            _xml_fill(ET.SubElement(element, name), child)
    else:
        element.text = _xml_text(value)


def render(fmt: Format, root: str, body: Value, status_code: int = 200) -> Response:
    """The response for a resource: ``body`` is a ``Many`` for list resources, a dict for single
    objects; ``root`` names the XML root element."""
    if fmt is Format.JSON:
        content = json.dumps(_json_value(body), ensure_ascii=False, separators=(",", ":"))
        return Response(content, status_code=status_code, media_type=JSON_TYPE)
    element = ET.Element(root)
    _xml_fill(element, body)
    content = XML_DECLARATION + ET.tostring(element, encoding="unicode")
    return Response(content.encode("utf-8"), status_code=status_code, media_type=XML_TYPE)


class Open311Error(Exception):
    """A refusal in the standard's error format; 400 bad input, 403 bad key, 404 unknown."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions

    def response(self, fmt: Format) -> Response:
        """``[{"code": 400, "description": "..."}]`` or ``<errors><error>…</error></errors>``."""
        errors = Many("error", [{"code": self.status, "description": d} for d in self.descriptions])
        return render(fmt, "errors", errors, status_code=self.status)


def format_of(suffix: str) -> Format:
    """The format named by a path suffix; an unknown one is a 404."""
    try:
        return Format(suffix)
    except ValueError:
        raise Open311Error(404, f"Unknown format '.{suffix}': use .json or .xml.") from None


def format_of_path(path: str) -> Format:
    """The format an error about a path is written in: XML for ``.xml`` paths, else JSON."""
    return Format.XML if path.endswith(".xml") else Format.JSON
