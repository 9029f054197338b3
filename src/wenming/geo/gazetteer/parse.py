"""Chinese address text → its parts (pure: no I/O).

An address is written from the largest unit to the smallest, any of the parts may be missing::

    [省] [市] [区/县] [街道/镇/乡] [社区/村] [道路] [门牌号] [栋/幢/号楼] [单元] [室]   [对面/附近…]
    辽宁省 盘锦市 大洼区 大洼街道   兴盛社区  兴盛路  12号     3栋        2单元  501室

``normalize`` folds what people type differently into one form: full-width letters and digits
(NFKC), traditional forms of the address words, spaces and punctuation, Chinese numerals in front
of a number word (十二号 → 12号, 一百零三 → 103). ``parse_address`` then splits the administrative
prefixes (each recognised by its suffix), the name of the road or place, the door number with an
optional sub-number (12-1号, 12之1号), building, entrance and room, and drops trailing words of
position (对面, 附近, 旁边, 门口, 东侧 …). The search decides what the name means by looking it up.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

CHINESE_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL_CHARS = "".join(CHINESE_DIGITS) + "".join(CHINESE_UNITS)
# Words that follow a number in an address; a Chinese numeral in front of one is a number.
NUMBER_WORDS = ("号楼", "号", "栋", "幢", "座", "单元", "室", "层", "楼", "门")
# Traditional and variant forms of the address words, folded into the simplified forms.
VARIANTS = str.maketrans(
    {
        "號": "号",
        "樓": "楼",
        "棟": "栋",
        "單": "单",
        "區": "区",
        "鎮": "镇",
        "鄉": "乡",
        "縣": "县",
        "條": "条",
        "衚": "胡",
        "衕": "同",
        "門": "门",
        "場": "场",
        "學": "学",
        "園": "园",
        "橋": "桥",
        "東": "东",
        "無": "无",
    }
)
ROAD_SUFFIXES = ("大街", "大道", "大路", "胡同", "路", "街", "道", "巷", "弄", "线", "里")
POSITION_WORDS = (
    "交叉口",
    "十字路口",
    "路口",
    "对面",
    "对过",
    "附近",
    "旁边",
    "边上",
    "门口",
    "门前",
    "后面",
    "前面",
    "里面",
    "东侧",
    "西侧",
    "南侧",
    "北侧",
    "东边",
    "西边",
    "南边",
    "北边",
    "一带",
    "周边",
    "处",
)

_SPACE_AND_PUNCTUATION = re.compile(r"[\s,，。．.、;；:：'\"“”‘’()（）\[\]【】<>《》!！?？/\\|]+")
_DASHES = re.compile(r"[—–－―~～]")
_NUMERAL_RUN = re.compile(f"[{_NUMERAL_CHARS}]+(?={'|'.join(NUMBER_WORDS)})")
_TRAILING_NUMERAL = re.compile(
    f"(?<=[{''.join(s[-1] for s in ROAD_SUFFIXES)}])[{_NUMERAL_CHARS}]+$"
)


class Level(StrEnum):
    """Administrative levels that an address may name before the road."""

    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"


# One pattern per level, tried in order at the start of what is left. The names are short (2-9
# characters); the look-arounds keep common words apart: 市场 is a market, not a city, 小区 and
# 园区 are compounds, not districts.
_ADMIN_PATTERNS: tuple[tuple[Level, re.Pattern[str]], ...] = (
    (Level.PROVINCE, re.compile(r"^(.{2,7}?(?:省|自治区|特别行政区))")),
    (Level.CITY, re.compile(r"^(.{2,7}?市)(?!场)")),
    (Level.DISTRICT, re.compile(r"^(.{1,7}?(?<![小社园景校厂营城])(?:区|县|旗))(?!域|间)")),
    (Level.STREET, re.compile(r"^(.{2,7}?(?:街道办事处|街道|镇|乡))(?![路街道巷])")),
    (
        Level.COMMUNITY,
        re.compile(r"^(.{2,9}?(?:社区居委会|社区|居委会|村委会|村))(?![民委路街道巷])"),
    ),
)
_DOOR_NUMBER = re.compile(r"(\d+)(?:(?:-|之)(\d+))?(号(?!楼)|(?=$))")
_BUILDING = re.compile(r"^([0-9a-z]+)(?:号楼|栋|幢|座)")
_BUILDING_ANYWHERE = re.compile(r"([0-9a-z]+)(?:号楼|栋|幢|座)")
_ENTRANCE = re.compile(r"^(\d+)单元")
_ROOM = re.compile(r"^(\d+)(?:室|号房|号|房)?$")
_FLOOR = re.compile(r"^(\d+)(?:层|楼)")


def chinese_numeral(text: str) -> int | None:
    """The value of a Chinese numeral: 十二 = 12, 二十 = 20, 一百零三 = 103, 一〇三 = 103."""
    if not text or any(ch not in CHINESE_DIGITS and ch not in CHINESE_UNITS for ch in text):
        return None
    if not any(ch in CHINESE_UNITS for ch in text):
        return int("".join(str(CHINESE_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in CHINESE_DIGITS:
            digit = CHINESE_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * CHINESE_UNITS[ch]
            digit = None
    return total + (digit or 0)


def _numerals_to_digits(text: str) -> str:
    """Chinese numerals in front of a number word, or ending the text after a road, as digits."""

    def convert(match: re.Match[str]) -> str:
        value = chinese_numeral(match.group(0))
        return match.group(0) if value is None else str(value)

    return _TRAILING_NUMERAL.sub(convert, _NUMERAL_RUN.sub(convert, text))


def normalize(text: str) -> str:
    """One form for what people type differently (see the module's description)."""
    folded = unicodedata.normalize("NFKC", text).translate(VARIANTS).lower()
    folded = _DASHES.sub("-", folded)
    folded = _SPACE_AND_PUNCTUATION.sub("", folded)
    return _numerals_to_digits(folded)


@lru_cache(maxsize=65_536)
def name_key(text: str) -> str:
    """The form of a stored name that a query is compared with: normalised, without the
    parenthesised notes some names carry (``兴盛路（示例）`` → ``兴盛路``)."""
    without_notes = re.sub(r"[（(][^（()）]*[)）]", "", unicodedata.normalize("NFKC", text))
    return normalize(without_notes)


def road_core(name: str) -> str:
    """A road name without its kind word (兴盛路 → 兴盛), to match a wrong or missing suffix."""
    for suffix in ROAD_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class AdminPart:
    """An administrative unit named in an address."""

    level: Level
    name: str


@dataclass(frozen=True)
class ParsedAddress:
    """The parts of an address; ``name`` is the road or place, None when only units were named."""

    text: str
    admin: tuple[AdminPart, ...] = ()
    name: str | None = None
    road: bool = False
    number: int | None = None
    suffix: str = ""
    building: str | None = None
    entrance: str | None = None
    room: str | None = None
    position: str | None = None
    rest: str = ""

    @property
    def is_empty(self) -> bool:
        """Whether the text names nothing to look for."""
        return self.name is None and self.number is None


def _strip_admin(text: str) -> tuple[tuple[AdminPart, ...], str]:
    """Administrative prefixes, largest first, and what follows them."""
    parts: list[AdminPart] = []
    rest = text
    for level, pattern in _ADMIN_PATTERNS:
        match = pattern.match(rest)
        if match is not None and len(match.group(1)) < len(rest):
            parts.append(AdminPart(level, match.group(1)))
            rest = rest[match.end(1) :]
    return tuple(parts), rest


def _strip_position(text: str) -> tuple[str, str | None]:
    """The text without a trailing word of position, and that word."""
    for word in POSITION_WORDS:
        if text.endswith(word) and len(text) > len(word):
            return text[: -len(word)], word
    return text, None


def _split_road(name: str) -> tuple[str, bool]:
    """The road name (ending in a road word) at the start of ``name`` when the whole of it is one,
    else ``name`` unchanged as the name of a road or a place."""
    for suffix in ROAD_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name, True
    return name, False


def _details(tail: str) -> tuple[str | None, str | None, str | None, str]:
    """Building, entrance and room at the start of ``tail``, and anything not understood."""
    building = entrance = room = None
    match = _BUILDING.match(tail)
    if match:
        building, tail = match.group(1).upper(), tail[match.end() :]
    match = _ENTRANCE.match(tail)
    if match:
        entrance, tail = match.group(1), tail[match.end() :]
    match = _FLOOR.match(tail)
    if match and tail[match.end() :]:
        tail = tail[match.end() :]
    match = _ROOM.match(tail)
    if match:
        room, tail = match.group(1), ""
    return building, entrance, room, tail


def parse_address(text: str) -> ParsedAddress:
    """The parts of an address as typed; never raises (an unreadable text names nothing)."""
    normal = normalize(text)
    admin, rest = _strip_admin(normal)
    rest, position = _strip_position(rest)
    number: int | None = None
    suffix = ""
    building = entrance = room = None
    leftover = ""
    match = _DOOR_NUMBER.search(rest)
    building_first = _BUILDING_ANYWHERE.search(rest)
    if building_first is not None and (match is None or building_first.start() <= match.start()):
        head, tail = rest[: building_first.start()], rest[building_first.start() :]
        building, entrance, room, leftover = _details(tail)
    elif match is not None and match.start() > 0:
        head, tail = rest[: match.start()], rest[match.end() :]
        number = int(match.group(1))
        suffix = f"-{int(match.group(2))}" if match.group(2) else ""
        building, entrance, room, leftover = _details(tail)
    elif match is not None:
        head = ""
        number = int(match.group(1))
        suffix = f"-{int(match.group(2))}" if match.group(2) else ""
        building, entrance, room, leftover = _details(rest[match.end() :])
    else:
        head = rest
    head, position_before = _strip_position(head)
    name, road = _split_road(head) if head else (None, False)
    if name is None and not admin and number is None and building is None:
        name = normal or None
    return ParsedAddress(
        text=normal,
        admin=admin,
        name=name or None,
        road=road,
        number=number,
        suffix=suffix,
        building=building,
        entrance=entrance,
        room=room,
        position=position or position_before,
        rest=leftover,
    )


def plate_label(
    road: str,
    number: int,
    suffix: str = "",
    building: str | None = None,
    entrance: str | None = None,
    room: str | None = None,
) -> str:
    """How a door plate is written: ``兴盛路 12 号``, ``兴盛路 12-1 号 3 栋 2 单元 501 室``."""
    parts = [f"{road} {number}{suffix} 号"]
    if building:
        parts.append(f"{building} 栋")
    if entrance:
        parts.append(f"{entrance} 单元")
    if room:
        parts.append(f"{room} 室")
    return " ".join(parts)
