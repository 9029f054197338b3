"""The Open311 GeoReport v2 contract, written down independently of the code that answers it: a
JSON Schema per resource (no property the standard does not name) and the element names of each
XML document."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import httpx
from jsonschema import Draft202012Validator

UTC_STAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
STAMP: dict[str, Any] = {"type": "string", "pattern": UTC_STAMP}
TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
MAYBE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
SERVICE_CODE: dict[str, Any] = {"type": "string", "pattern": r"^(component|event)-[0-9]{4}$"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
        "additionalProperties": False,
    }


def _array(item: dict[str, Any], min_items: int = 0) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": min_items}


DISCOVERY = _object(
    {
        "changeset": STAMP,
        "contact": TEXT,
        "key_service": TEXT,
        "endpoints": _array(
            _object(
                {
                    "specification": {"const": "http://wiki.open311.org/GeoReport_v2"},
                    "url": {"type": "string", "pattern": r"^https?://.+/open311/v2$"},
                    "changeset": STAMP,
                    "type": {"enum": ["production", "test"]},
                    "formats": {
                        "type": "array",
                        "items": {"enum": ["text/xml", "application/json"]},
                        "minItems": 2,
                        "uniqueItems": True,
                    },
                }
            ),
            min_items=1,
        ),
    }
)
SERVICES = _array(
    _object(
        {
            "service_code": SERVICE_CODE,
            "service_name": TEXT,
            "description": TEXT,
            "metadata": {"type": "boolean"},
            "type": {"enum": ["realtime", "batch", "blackbox"]},
            "keywords": TEXT,
            "group": TEXT,
        }
    ),
    min_items=1,
)
SERVICE_DEFINITION = _object(
    {
        "service_code": SERVICE_CODE,
        "attributes": _array(
            _object(
                {
                    "variable": {"type": "boolean"},
                    "code": TEXT,
                    "datatype": {
                        "enum": [
                            "string",
                            "number",
                            "datetime",
                            "text",
                            "singlevaluelist",
                            "multivaluelist",
                        ]
                    },
                    "required": {"type": "boolean"},
                    "datatype_description": TEXT,
                    "order": {"type": "integer", "minimum": 1},
                    "description": TEXT,
                    "values": _array(_object({"key": TEXT, "name": TEXT}), min_items=1),
                },
                required=[
                    "variable",
                    "code",
                    "datatype",
                    "required",
                    "datatype_description",
                    "order",
                    "description",
                ],
            ),
            min_items=1,
        ),
    }
)
REQUEST = _object(
    {
        "service_request_id": {"type": "string", "pattern": r"^[A-Z0-9]{4,16}$"},
        "status": {"enum": ["open", "closed"]},
        "status_notes": MAYBE_TEXT,
        "service_name": TEXT,
        "service_code": SERVICE_CODE,
        "description": {"type": "string"},
        "agency_responsible": MAYBE_TEXT,
        "service_notice": MAYBE_TEXT,
        "requested_datetime": STAMP,
        "updated_datetime": STAMP,
        "expected_datetime": {"anyOf": [STAMP, {"type": "null"}]},
        "address": TEXT,
        "address_id": MAYBE_TEXT,
        "zipcode": MAYBE_TEXT,
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "media_url": {"anyOf": [{"type": "string", "pattern": r"^https?://"}, {"type": "null"}]},
    }
)
REQUESTS = _array(REQUEST)
CREATED = _array(
    _object(
        {
            "service_request_id": {"type": "string", "pattern": r"^[A-Z0-9]{4,16}$"},
            "service_notice": MAYBE_TEXT,
            "account_id": MAYBE_TEXT,
        }
    ),
    min_items=1,
)
TOKEN = _array(
    _object({"service_request_id": {"type": "string"}, "token": {"type": "string"}}),
    min_items=1,
)
UPDATES = _array(
    _object(
        {
            "update_id": TEXT,
            "service_request_id": {"type": "string", "pattern": r"^[A-Z0-9]{4,16}$"},
            "status": {
                "enum": [
                    "open",
                    "closed",
                    "fixed",
                    "in_progress",
                    "planned",
                    "action_scheduled",
                    "investigating",
                    "duplicate",
                    "not_councils_responsibility",
                    "no_further_action",
                    "internal_referral",
                    "cancelled",
                    "reopen",
                    "for_triage",
                ]
            },
            "updated_datetime": STAMP,
            "description": TEXT,
            "media_url": {
                "anyOf": [{"type": "string", "pattern": r"^https?://"}, {"type": "null"}]
            },
            "external_status_code": TEXT,
        }
    )
)
ERRORS = _array(
    _object({"code": {"enum": [400, 403, 404]}, "description": TEXT}),
    min_items=1,
)

# XML: each element's allowed children (leaves are absent from the table).
REQUEST_FIELDS = list(REQUEST["properties"])
XML_CHILDREN: dict[str, dict[str, list[str]]] = {
    "discovery": {
        "discovery": ["changeset", "contact", "key_service", "endpoints"],
        "endpoints": ["endpoint"],
        "endpoint": ["specification", "url", "changeset", "type", "formats"],
        "formats": ["format"],
    },
    "services": {
        "services": ["service"],
        "service": [
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        ],
    },
    "service_definition": {
        "service_definition": ["service_code", "attributes"],
        "attributes": ["attribute"],
        "attribute": list(SERVICE_DEFINITION["properties"]["attributes"]["items"]["properties"]),
        "values": ["value"],
        "value": ["key", "name"],
    },
    "service_requests": {"service_requests": ["request"], "request": REQUEST_FIELDS},
    "created": {
        "service_requests": ["request"],
        "request": ["service_request_id", "service_notice", "account_id"],
    },
    "token": {"service_requests": ["request"], "request": ["service_request_id", "token"]},
    "service_request_updates": {
        "service_request_updates": ["request_update"],
        "request_update": list(UPDATES["items"]["properties"]),
    },
    "errors": {"errors": ["error"], "error": ["code", "description"]},
}
# Elements a record may leave out: ``values`` exists for list attributes only.
XML_OPTIONAL: dict[str, set[str]] = {"attribute": {"values"}}


def check_json(response: httpx.Response, schema: dict[str, Any]) -> Any:
    """The body of a JSON response, after checking its type and its schema."""
    assert response.headers["content-type"] == "application/json; charset=utf-8", response.text
    body = response.json()
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    return body


def _walk(element: ET.Element, table: dict[str, list[str]]) -> None:
    allowed = table.get(element.tag)
    if allowed is None:
        assert len(element) == 0, f"<{element.tag}> is a leaf but has children"
        return
    assert element.text is None or not element.text.strip(), f"text inside <{element.tag}>"
    names = [child.tag for child in element]
    unexpected = sorted(set(names) - set(allowed))
    assert unexpected == [], f"unexpected in <{element.tag}>: {unexpected}"
    if len(allowed) > 1 or element.tag in ("discovery", "service_definition", "request"):
        # A record: every field once, in the standard's order (optional ones may be left out).
        optional = XML_OPTIONAL.get(element.tag, set())
        expected = [n for n in allowed if n in names or n not in optional]
        assert names == expected, f"<{element.tag}> has {names}, expected {expected}"
    for child in element:
        _walk(child, table)


def check_xml(response: httpx.Response, document: str, root: str | None = None) -> ET.Element:
    """The root of an XML response, after checking its type, declaration and element names."""
    assert response.headers["content-type"] == "text/xml; charset=utf-8", response.text
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    element = ET.fromstring(response.content)  # noqa: S314 - the answer of our own server
    assert element.tag == (root or document)
    _walk(element, XML_CHILDREN[document])
    return element
