"""Open311 GeoReport v2 over HTTP: every answer checked against the contract (JSON Schema without
extra properties, XML element names), the standard's filters and limits, its error format, and a
request created through Open311 moving through the same workflow as any other report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import IN_C1A, IN_S2, World, act, photo, report
from tests.factories.geo import lonlat
from tests.factories.org import bearer_headers
from tests.open311.conftest import api_key
from tests.open311.contract import (
    CREATED,
    DISCOVERY,
    ERRORS,
    REQUESTS,
    SERVICE_DEFINITION,
    SERVICES,
    TOKEN,
    UPDATES,
    check_json,
    check_xml,
)
from wenming.cases.models import Case, CaseAttachment, CaseEvent
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings

V2 = "/open311/v2"
LON, LAT = IN_C1A


def new_request(key: str | None, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service_code": "event-0102",
        "lat": f"{LAT:.7f}",
        "long": f"{LON:.7f}",
        "description": "小区门口垃圾没人清",
        "first_name": "小明",
        "last_name": "王",
        "phone": "13900001111",
        "email": "wang@example.org",
    }
    if key is not None:
        values["api_key"] = key
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


async def post(
    client: httpx.AsyncClient, data: dict[str, Any], fmt: str = "json", **kw: Any
) -> httpx.Response:
    return await client.post(f"{V2}/requests.{fmt}", data=data, **kw)


def error_of(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    return [e["description"] for e in check_json(response, ERRORS)]


def xml_error_of(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    root = check_xml(response, "errors")
    assert [e.findtext("code") for e in root] == [str(status)] * len(root)
    return [e.findtext("description") or "" for e in root]


# Discovery, services and definitions -------------------------------------------------------


async def test_discovery_in_both_formats(client: httpx.AsyncClient) -> None:
    body = check_json(await client.get("/open311/discovery.json"), DISCOVERY)
    assert body["endpoints"] == [
        {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "http://testserver/open311/v2",
            "changeset": "2026-11-27T09:00:00Z",
            "type": "test",
            "formats": ["text/xml", "application/json"],
        }
    ]
    root = check_xml(await client.get("/open311/discovery.xml"), "discovery")
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/url") == "http://testserver/open311/v2"


async def test_services_are_the_public_categories_grouped_by_area(
    client: httpx.AsyncClient,
) -> None:
    services = check_json(await client.get(f"{V2}/services.json"), SERVICES)
    by_code = {s["service_code"]: s for s in services}
    assert by_code["event-0102"] == {
        "service_code": "event-0102",
        "service_name": "暴露垃圾",
        "description": "暴露垃圾 (事件 0102)",
        "metadata": True,
        "type": "realtime",
        "keywords": "暴露垃圾,Exposed garbage,0102",
        "group": "环境卫生",
    }
    assert "event-0406" not in by_code  # 火灾: not for the public (call the emergency number)
    english = check_json(
        await client.get(f"{V2}/services.json", headers={"Accept-Language": "en-US,en"}),
        SERVICES,
    )
    assert {s["service_code"]: s["group"] for s in english}["event-0102"] == "Sanitation"
    root = check_xml(await client.get(f"{V2}/services.xml"), "services")
    assert len(root) == len(services)
    first = root[0]
    assert first.findtext("service_code") == services[0]["service_code"]
    assert first.findtext("metadata") == "true"


async def test_service_definitions_name_their_attributes(client: httpx.AsyncClient) -> None:
    event = check_json(await client.get(f"{V2}/services/event-0102.json"), SERVICE_DEFINITION)
    assert [a["code"] for a in event["attributes"]] == ["urgency"]
    assert [v["key"] for v in event["attributes"][0]["values"]] == [
        "normal",
        "urgent",
        "emergency",
    ]
    component = check_json(
        await client.get(f"{V2}/services/component-0113.json"), SERVICE_DEFINITION
    )
    assert [(a["code"], a["order"]) for a in component["attributes"]] == [
        ("urgency", 1),
        ("component_code", 2),
    ]
    assert "values" not in component["attributes"][1]
    root = check_xml(await client.get(f"{V2}/services/component-0113.xml"), "service_definition")
    assert [a.findtext("code") for a in root.iter("attribute")] == ["urgency", "component_code"]
    assert [len(a.findall("values/value")) for a in root.iter("attribute")] == [3, 0]
    assert root.find("attributes/attribute/values/value/name").text == "一般"  # type: ignore[union-attr]
    for unknown in ("event-9999", "event-0406", "garbage"):
        assert error_of(await client.get(f"{V2}/services/{unknown}.json"), 404) == [
            f"Unknown service_code '{unknown}'."
        ]
    assert xml_error_of(await client.get(f"{V2}/services/event-9999.xml"), 404) == [
        "Unknown service_code 'event-9999'."
    ]


async def test_unknown_resources_formats_and_jurisdictions_are_404_in_the_standard_format(
    client: httpx.AsyncClient,
) -> None:
    assert error_of(await client.get(f"{V2}/nothing.json"), 404) == [
        f"No Open311 resource answers GET {V2}/nothing.json."
    ]
    assert xml_error_of(await client.get(f"{V2}/nothing.xml"), 404) != []
    assert error_of(await client.get(f"{V2}/services.yaml"), 404) == [
        "Unknown format '.yaml': use .json or .xml."
    ]
    assert error_of(await client.get(f"{V2}/services.json?jurisdiction_id=elsewhere"), 404) == [
        "Unknown jurisdiction_id 'elsewhere'."
    ]
    ok = await client.get(f"{V2}/services.json?jurisdiction_id=wenming")
    assert ok.status_code == 200
    empty = await client.get(f"{V2}/services.json?jurisdiction_id=")
    assert empty.status_code == 200


# Creating requests -------------------------------------------------------------------------


async def test_a_request_enters_the_workflow_and_keeps_the_contact_private(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    citizen_key: str,
    settings: Settings,
) -> None:
    response = await post(client, new_request(citizen_key, address_string="新华路12号"))
    assert response.status_code == 201, response.text
    [created] = check_json(response, CREATED)
    code = created["service_request_id"]
    assert created["service_notice"] == f"已受理登记，查询请提供跟踪码 {code}。"
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None
    assert (case.source, case.reporter_user_id, case.state) == (
        "citizen",
        world.people.citizen.id,
        "reported",
    )
    assert (case.reporter_name, case.reporter_phone, case.address) == (
        "王小明",
        "13900001111",
        "新华路12号",
    )
    # The command centre finds it in its queue ...
    intake = await bearer_headers(session, world.people.intake)
    queue = await client.get("/api/v1/cases", headers=intake)
    assert code in [c["code"] for c in queue.json()["items"]]
    # ... and moves it along the loop; Open311 follows.
    await act(session, world, case, Action.FILE, world.people.intake, settings=settings)
    await act(
        session,
        world,
        case,
        Action.DISPATCH,
        world.people.dispatcher,
        settings=settings,
        target={"department_code": "211104-CGJ"},
    )
    [seen] = check_json(await client.get(f"{V2}/requests/{code}.json"), REQUESTS)
    assert seen["status"] == "open"
    assert seen["agency_responsible"] == "城管局"
    assert seen["address"] == "新华路12号"
    assert (seen["lat"], seen["long"]) == pytest.approx((LAT, LON))
    assert seen["requested_datetime"] == "2026-11-27T08:00:00Z"
    assert seen["description"] == "小区门口垃圾没人清"
    for secret in ("王小明", "小明", "13900001111", "wang@example.org"):
        assert secret not in (await client.get(f"{V2}/requests/{code}.json")).text
        assert secret not in (await client.get(f"{V2}/requests/{code}.xml")).text
        assert secret not in (await client.get(f"{V2}/requests.json")).text


async def test_a_grid_workers_key_reports_as_grid_worker_and_attributes_are_used(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    key = await api_key(session, world.people.grid_worker)
    data = new_request(key, **{"attribute[urgency]": "urgent"})
    response = await post(client, data, fmt="xml")
    assert response.status_code == 201
    root = check_xml(response, "created", root="service_requests")
    code = root.findtext("request/service_request_id")
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None
    assert (case.source, case.urgency) == ("grid_worker", "urgent")


async def test_a_retry_with_the_same_idempotency_key_returns_the_same_request(
    client: httpx.AsyncClient, session: AsyncSession, world: World, citizen_key: str
) -> None:
    headers = {"Idempotency-Key": "open311-retry-1"}
    first = await post(client, new_request(citizen_key), headers=headers)
    again = await post(client, new_request(citizen_key), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    different = await post(
        client, new_request(citizen_key, description="别的问题"), headers=headers
    )
    assert error_of(different, 400) == [
        "This Idempotency-Key was already used for a different report; "
        "use a new key for a new report."
    ]
    assert await session.scalar(select(func.count()).select_from(Case)) == 1


async def test_keys_are_checked_before_anything_else(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    assert error_of(await post(client, new_request(None)), 403) == [
        "api_key is required to create a request."
    ]
    assert error_of(await post(client, new_request("wmk_not-a-key")), 403) == [
        "The api_key is unknown, revoked or its user disabled."
    ]
    assert xml_error_of(await post(client, new_request(""), fmt="xml"), 403) == [
        "api_key is required to create a request."
    ]
    assert await session.scalar(select(func.count()).select_from(Case)) == 0


async def test_the_key_may_come_in_the_query_string(
    client: httpx.AsyncClient, citizen_key: str
) -> None:
    response = await client.post(
        f"{V2}/requests.json", params={"api_key": citizen_key}, data=new_request(None)
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("fields", "status", "descriptions"),
    [
        ({"service_code": None}, 400, ["service_code is required."]),
        ({"service_code": ""}, 400, ["service_code is required."]),
        ({"service_code": "event-9999"}, 404, ["Unknown service_code 'event-9999'."]),
        (
            {"lat": None, "long": None, "address_string": "新华路12号"},
            400,
            [
                "lat and long are required: this endpoint cannot place address_string or "
                "address_id on the map yet. Send the WGS-84 coordinates of the problem."
            ],
        ),
        (
            {"lat": "", "long": ""},
            400,
            ["Say where the problem is: lat and long (WGS-84) are required."],
        ),
        ({"long": None}, 400, ["Send both lat and long."]),
        ({"lat": "north"}, 400, ["lat must be a decimal number (WGS-84 degrees)."]),
        (
            {"attribute[colour]": "red", "description": "x" * 2001},
            400,
            [
                "description is longer than 2000 characters.",
                "Unknown attribute 'colour' for service event-0102; see services/event-0102.json.",
            ],
        ),
        (
            {"attribute[component_code]": "1234567890123456"},
            400,
            [
                "Unknown attribute 'component_code' for service event-0102; "
                "see services/event-0102.json."
            ],
        ),
        (
            {"attribute[urgency]": "whenever"},
            400,
            ["attribute[urgency]: Input should be 'normal', 'urgent' or 'emergency'"],
        ),
        ({"phone": "call me"}, 400, ["phone: String should match pattern '^\\+?[0-9]{5,15}$'"]),
        (
            {"media_url": "http://elsewhere.example/photo.jpg"},
            400,
            [
                "media_url must be the URL of a photo uploaded to this server "
                "(POST /api/v1/attachments), or send the photo as the multipart field 'media'."
            ],
        ),
    ],
)
async def test_bad_requests_are_refused_with_what_to_fix(
    client: httpx.AsyncClient,
    session: AsyncSession,
    citizen_key: str,
    fields: dict[str, Any],
    status: int,
    descriptions: list[str],
) -> None:
    data = new_request(citizen_key)
    for name, value in fields.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    assert error_of(await post(client, data), status) == descriptions
    assert await session.scalar(select(func.count()).select_from(Case)) == 0


async def test_a_point_outside_every_grid_is_refused(
    client: httpx.AsyncClient, citizen_key: str
) -> None:
    far = lonlat(90_000, 90_000)
    data = new_request(citizen_key, lat=f"{far[1]:.7f}", long=f"{far[0]:.7f}")
    [description] = error_of(await post(client, data), 400)
    assert "grid" in description


async def test_photos_come_as_a_media_url_or_a_multipart_file_and_stay_private(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    citizen_key: str,
    settings: Settings,
) -> None:
    key = await photo(session, settings)
    response = await post(
        client, new_request(citizen_key, media_url=f"http://testserver/api/v1/attachments/{key}")
    )
    assert response.status_code == 201, response.text
    code = response.json()[0]["service_request_id"]
    [seen] = (await client.get(f"{V2}/requests/{code}.json")).json()
    assert seen["media_url"] is None
    intake = await bearer_headers(session, world.people.intake)
    published = await client.post(f"/api/v1/cases/{code}/photos/{key}/publish", headers=intake)
    assert published.status_code == 200, published.text
    [seen] = check_json(await client.get(f"{V2}/requests/{code}.json"), REQUESTS)
    assert seen["media_url"] == f"http://testserver/api/v1/attachments/{key}"

    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(buffer, "PNG")
    uploaded = await client.post(
        f"{V2}/requests.json",
        data=new_request(citizen_key),
        files={"media": ("p.png", buffer.getvalue(), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    other = await session.scalar(
        select(Case).where(Case.code == uploaded.json()[0]["service_request_id"])
    )
    assert other is not None
    linked = await session.scalar(
        select(func.count()).select_from(CaseAttachment).where(CaseAttachment.case_id == other.id)
    )
    assert linked == 1
    bad = await client.post(
        f"{V2}/requests.json",
        data=new_request(citizen_key),
        files={"media": ("p.png", b"not an image", "image/png")},
    )
    assert bad.status_code == 400
    [description] = error_of(bad, 400)
    assert description.startswith("media: ")


# Reading requests --------------------------------------------------------------------------


async def test_get_requests_lists_public_requests_in_both_formats(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    visible = await report(session, world, settings=settings, reporter_phone="13911112222")
    hidden = await report(session, world, settings=settings, public=False)
    body = check_json(await client.get(f"{V2}/requests.json"), REQUESTS)
    assert [r["service_request_id"] for r in body] == [visible.code]
    assert "13911112222" not in str(body)
    root = check_xml(await client.get(f"{V2}/requests.xml"), "service_requests")
    assert [r.findtext("service_request_id") for r in root] == [visible.code]
    request = root[0]
    assert request.findtext("lat") == str(visible.lat)
    assert request.findtext("requested_datetime") == "2026-11-27T08:00:00Z"
    assert request.findtext("address") == "大洼街道测试一社区"
    assert request.find("media_url") is not None and request.findtext("media_url") == ""
    assert error_of(await client.get(f"{V2}/requests/{hidden.code}.json"), 404) == [
        f"Unknown service_request_id '{hidden.code}'."
    ]
    assert xml_error_of(await client.get(f"{V2}/requests/NOSUCHCODE.xml"), 404) == [
        "Unknown service_request_id 'NOSUCHCODE'."
    ]


async def test_filters_by_id_code_status_and_dates(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    garbage = await report(session, world, settings=settings)
    light = await report(
        session, world, settings=settings, category=("component", "0113"), at=IN_S2
    )
    rejected = await report(session, world, settings=settings, now=NOW - timedelta(days=10))
    await act(
        session,
        world,
        rejected,
        Action.REJECT,
        world.people.intake,
        settings=settings,
        note="不属实",
    )
    old = await report(session, world, settings=settings, now=NOW - timedelta(days=100))

    async def ids(query: str) -> list[str]:
        response = await client.get(f"{V2}/requests.json?{query}")
        return [r["service_request_id"] for r in check_json(response, REQUESTS)]

    assert await ids("") == [light.code, garbage.code, rejected.code]
    assert await ids("service_code=component-0113") == [light.code]
    assert await ids("service_code=component-0113,event-0102") == [
        light.code,
        garbage.code,
        rejected.code,
    ]
    assert await ids("status=closed") == [rejected.code]
    assert await ids("status=open,closed") == [light.code, garbage.code, rejected.code]
    assert await ids("start_date=2026-11-20T00:00:00Z") == [light.code, garbage.code]
    assert await ids(
        "start_date=2026-11-20T08:00:00%2B08:00&end_date=2026-11-27T16:00:00%2B08:00"
    ) == [
        light.code,
        garbage.code,
    ]
    # One end only: the window is 90 days from or up to it.
    assert await ids("end_date=2026-11-20T00:00:00Z") == [rejected.code]
    assert await ids("end_date=2026-09-01T00:00:00Z") == [old.code]
    assert await ids("start_date=2026-08-01T00:00:00Z") == [old.code]
    # The id list overrides every other filter, old and closed requests included.
    assert await ids(f"service_request_id={old.code},{rejected.code}&status=open") == [
        rejected.code,
        old.code,
    ]
    # Empty parameters are absent.
    assert await ids("service_request_id=&service_code=&status=&start_date=&end_date=&page=") == [
        light.code,
        garbage.code,
        rejected.code,
    ]
    [closed] = (await client.get(f"{V2}/requests/{rejected.code}.json")).json()
    assert (closed["status"], closed["status_notes"], closed["expected_datetime"]) == (
        "closed",
        "不属实",
        None,
    )
    assert await ids("page_size=2") == [light.code, garbage.code]
    assert await ids("page_size=2&page=2") == [rejected.code]
    assert await ids("page_size=2&page=3") == []


@pytest.mark.parametrize(
    ("query", "descriptions"),
    [
        (
            "start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z",
            ["start_date and end_date may not be more than 90 days apart."],
        ),
        (
            "start_date=2026-11-02T00:00:00Z&end_date=2026-11-01T00:00:00Z",
            ["end_date must not be before start_date."],
        ),
        (
            "start_date=yesterday&status=pending",
            [
                "status must be open or closed, not 'pending'.",
                "start_date must be an ISO 8601 datetime such as 2026-11-27T08:15:30Z.",
            ],
        ),
        (
            "start_date=2026-11-01T00:00:00",
            ["start_date needs a time zone, e.g. 2026-11-27T08:15:30Z or +08:00."],
        ),
        ("page_size=1001", ["page_size must be a whole number from 1 to 1000."]),
        ("page=0", ["page must be a whole number from 1 to 2147483."]),
    ],
)
async def test_bad_filters_are_400(
    client: httpx.AsyncClient, world: World, query: str, descriptions: list[str]
) -> None:
    assert error_of(await client.get(f"{V2}/requests.json?{query}"), 400) == descriptions
    assert xml_error_of(await client.get(f"{V2}/requests.xml?{query}"), 400) == descriptions


async def test_unknown_service_code_filter_is_404(client: httpx.AsyncClient, world: World) -> None:
    assert error_of(await client.get(f"{V2}/requests.json?service_code=event-9999"), 404) == [
        "Unknown service_code 'event-9999'."
    ]


async def test_at_most_1000_requests_are_returned_per_page(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    template = await report(session, world, settings=settings)
    columns = {
        c.key: getattr(template, c.key) for c in Case.__table__.columns if c.key not in ("id",)
    }
    rows = [
        {**columns, "code": f"BULK{i:06d}", "created_at": NOW - timedelta(minutes=i + 1)}
        for i in range(1000)
    ]
    await session.execute(insert(Case), rows)
    first = check_json(await client.get(f"{V2}/requests.json"), REQUESTS)
    assert len(first) == 1000
    assert first[0]["service_request_id"] == template.code
    second = check_json(await client.get(f"{V2}/requests.json?page=2"), REQUESTS)
    assert [r["service_request_id"] for r in second] == ["BULK000999"]


async def test_tokens_resolve_to_the_request(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings)
    body = check_json(await client.get(f"{V2}/tokens/{case.code}.json"), TOKEN)
    assert body == [{"service_request_id": case.code, "token": case.code}]
    root = check_xml(await client.get(f"{V2}/tokens/{case.code}.xml"), "token", "service_requests")
    assert root.findtext("request/token") == case.code
    assert error_of(await client.get(f"{V2}/tokens/UNKNOWN1.json"), 404) == [
        "Unknown token 'UNKNOWN1'."
    ]


# Updates -----------------------------------------------------------------------------------


async def test_updates_feed_public_changes_with_public_notes(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings, now=NOW - timedelta(hours=3))
    p = world.people
    await act(
        session, world, case, Action.FILE, p.intake, settings=settings, now=NOW - timedelta(hours=3)
    )
    await act(
        session,
        world,
        case,
        Action.DISPATCH,
        p.dispatcher,
        settings=settings,
        note="内部：请张科长 13812345678 处理",
        target={"department_code": "211104-CGJ"},
        now=NOW - timedelta(hours=1),
    )
    await act(session, world, case, Action.ACCEPT, p.handler, settings=settings)
    await act(
        session, world, case, Action.REQUEST_SUSPENSION, p.handler, settings=settings, note="内部"
    )
    events = {
        e.action: e.id
        for e in (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
    }
    body = check_json(await client.get(f"{V2}/servicerequestupdates.json"), UPDATES)
    assert body == [
        {
            "update_id": str(events["dispatch"]),
            "service_request_id": case.code,
            "status": "action_scheduled",
            "updated_datetime": "2026-11-27T07:00:00Z",
            "description": "已派遣至责任单位",
            "media_url": None,
            "external_status_code": "dispatched",
        },
        {
            "update_id": str(events["accept"]),
            "service_request_id": case.code,
            "status": "in_progress",
            "updated_datetime": "2026-11-27T08:00:00Z",
            "description": "责任单位处置中",
            "media_url": None,
            "external_status_code": "accepted",
        },
    ]
    wider = check_json(
        await client.get(f"{V2}/servicerequestupdates.json?start_date=2026-11-27T00:00:00Z"),
        UPDATES,
    )
    assert [u["external_status_code"] for u in wider] == ["filed", "dispatched", "accepted"]
    root = check_xml(await client.get(f"{V2}/servicerequestupdates.xml"), "service_request_updates")
    assert [u.findtext("status") for u in root] == ["action_scheduled", "in_progress"]
    assert error_of(
        await client.get(
            f"{V2}/servicerequestupdates.json?start_date=2026-01-01T00:00:00Z"
            "&end_date=2026-11-27T00:00:00Z"
        ),
        400,
    ) == ["The update window may not exceed 90 days."]


async def test_errors_under_open311_are_never_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"{V2}/requests.json")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.status_code == 404
    assert error_of(response, 404) != []


async def test_closed_requests_and_states_map_to_status(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings)
    await act(session, world, case, Action.FILE, world.people.intake, settings=settings)
    assert case.state == State.FILED.value
    [seen] = (await client.get(f"{V2}/requests/{case.code}.json")).json()
    assert (seen["status"], seen["service_notice"]) == ("open", "已立案")
