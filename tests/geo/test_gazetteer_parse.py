"""Parsing Chinese addresses and interpolating door numbers (pure functions)."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString

from tests.factories.geo import lonlat
from wenming.geo.gazetteer.interpolate import KnownPlate, interpolate
from wenming.geo.gazetteer.parse import (
    AdminPart,
    Level,
    ParsedAddress,
    chinese_numeral,
    name_key,
    normalize,
    parse_address,
    plate_label,
    road_core,
)
from wenming.geo.geometry import distance_m


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十七", 27),
        ("一百零三", 103),
        ("一百一十", 110),
        ("两百", 200),
        ("一千零一", 1001),
        ("一〇三", 103),
        ("五", 5),
        ("", None),
        ("十a", None),
    ],
)
def test_chinese_numerals(text: str, value: int | None) -> None:
    assert chinese_numeral(text) == value


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("兴盛路１２号", "兴盛路12号"),
        ("兴盛路 十二 号", "兴盛路12号"),
        ("兴盛路十二号", "兴盛路12号"),
        ("兴盛路一百零三", "兴盛路103"),
        ("兴盛路１２－１号", "兴盛路12-1号"),
        ("興盛路12號", "興盛路12号"),
        ("Ａ座", "a座"),
        ("三道街五号", "三道街5号"),
        ("一马路", "一马路"),
        ("十字街", "十字街"),
        ("（示例）兴盛路，12号。", "示例兴盛路12号"),
    ],
)
def test_normalize(text: str, normal: str) -> None:
    assert normalize(text) == normal


def test_full_address_with_every_part() -> None:
    assert parse_address(
        "辽宁省盘锦市大洼区大洼街道兴盛社区兴盛路12号3栋2单元501室"
    ) == ParsedAddress(
        text="辽宁省盘锦市大洼区大洼街道兴盛社区兴盛路12号3栋2单元501室",
        admin=(
            AdminPart(Level.PROVINCE, "辽宁省"),
            AdminPart(Level.CITY, "盘锦市"),
            AdminPart(Level.DISTRICT, "大洼区"),
            AdminPart(Level.STREET, "大洼街道"),
            AdminPart(Level.COMMUNITY, "兴盛社区"),
        ),
        name="兴盛路",
        road=True,
        number=12,
        building="3",
        entrance="2",
        room="501",
    )


@pytest.mark.parametrize(
    ("text", "name", "road", "number", "suffix", "building", "position"),
    [
        ("兴盛路12号", "兴盛路", True, 12, "", None, None),
        ("兴盛路十二号对面", "兴盛路", True, 12, "", None, "对面"),
        ("兴盛路12", "兴盛路", True, 12, "", None, None),
        ("兴盛路12-1号", "兴盛路", True, 12, "-1", None, None),
        ("兴盛路12之3号", "兴盛路", True, 12, "-3", None, None),
        ("兴盛路12号楼", "兴盛路", True, None, "", "12", None),
        ("兴盛12号", "兴盛", False, 12, "", None, None),
        ("向海大街20号附近", "向海大街", True, 20, "", None, "附近"),
        ("锦华园3号楼", "锦华园", False, None, "", "3", None),
        ("锦华园A座", "锦华园", False, None, "", "A", None),
        ("中心农贸市场", "中心农贸市场", False, None, "", None, None),
        ("中心农贸市场门口", "中心农贸市场", False, None, "", None, "门口"),
        ("锦华小区", "锦华小区", False, None, "", None, None),
        ("兴", "兴", False, None, "", None, None),
    ],
)
def test_shapes_of_addresses(
    text: str,
    name: str,
    road: bool,
    number: int | None,
    suffix: str,
    building: str | None,
    position: str | None,
) -> None:
    parsed = parse_address(text)
    assert (
        parsed.name,
        parsed.road,
        parsed.number,
        parsed.suffix,
        parsed.building,
        parsed.position,
    ) == (name, road, number, suffix, building, position)


@pytest.mark.parametrize(
    ("text", "admin", "name"),
    [
        ("盘锦市中心农贸市场", ("盘锦市",), "中心农贸市场"),
        ("大洼区兴盛路", ("大洼区",), "兴盛路"),
        ("新兴镇中街5号", ("新兴镇",), "中街"),
        ("田家街道测试三社区中街", ("田家街道", "测试三社区"), "中街"),
        ("前进村委会村口", ("前进村委会",), "村口"),
        ("广西壮族自治区南宁市兴宁区民主路", ("广西壮族自治区", "南宁市", "兴宁区"), "民主路"),
    ],
)
def test_administrative_prefixes(text: str, admin: tuple[str, ...], name: str) -> None:
    parsed = parse_address(text)
    assert (tuple(part.name for part in parsed.admin), parsed.name) == (admin, name)


def test_a_unit_alone_is_searched_as_a_name() -> None:
    parsed = parse_address("大洼区")
    assert (parsed.admin, parsed.name) == ((), "大洼区")


def test_empty_and_punctuation_only_texts_name_nothing() -> None:
    assert parse_address("").is_empty
    assert parse_address(" ，。 ").is_empty


def test_name_key_drops_notes_and_road_core_drops_the_road_word() -> None:
    assert name_key("兴盛路（大洼段）（示例）") == "兴盛路"
    assert road_core("兴盛路") == "兴盛"
    assert road_core("向海大街") == "向海"
    assert road_core("中街") == "中街"


def test_plate_labels() -> None:
    assert plate_label("兴盛路", 12) == "兴盛路 12 号"
    assert plate_label("兴盛路", 12, "-1", "3", "2", "501") == "兴盛路 12-1 号 3 栋 2 单元 501 室"


ROAD = LineString([lonlat(0, 0), lonlat(1000, 0)])


def plate(number: int, x: float, y: float) -> KnownPlate:
    """A known plate at a metric position."""
    return KnownPlate(number, *lonlat(x, y))


def metres_from(lon: float, lat: float, x: float, y: float) -> float:
    """Distance between a lon/lat and a metric position."""
    return distance_m(lon, lat, *lonlat(x, y))


def test_a_number_between_two_plates_is_placed_between_them_on_their_side() -> None:
    lon, lat = interpolate(ROAD, 15, [plate(13, 100, 10)], [plate(19, 160, 10)])
    assert metres_from(lon, lat, 120, 10) < 0.01


def test_an_even_number_stays_on_the_even_side() -> None:
    lon, lat = interpolate(ROAD, 8, [plate(6, 50, -12)], [plate(12, 110, -8)])
    assert metres_from(lon, lat, 70, -10.6666667) < 0.01


def test_beyond_the_last_plate_the_two_nearest_are_extrapolated_up_to_the_road_end() -> None:
    lon, lat = interpolate(ROAD, 25, [plate(23, 220, 10), plate(21, 200, 10)], [])
    assert metres_from(lon, lat, 240, 10) < 0.01
    lon, lat = interpolate(ROAD, 999, [plate(23, 220, 10), plate(21, 200, 10)], [])
    assert metres_from(lon, lat, 1000, 10) < 0.01


def test_one_known_plate_places_the_number_at_it() -> None:
    lon, lat = interpolate(ROAD, 5, [], [plate(9, 300, 10)])
    assert metres_from(lon, lat, 300, 10) < 0.01


def test_no_known_plate_places_the_number_in_the_middle_of_the_road() -> None:
    lon, lat = interpolate(ROAD, 5, [], [])
    assert metres_from(lon, lat, 500, 0) < 0.01
