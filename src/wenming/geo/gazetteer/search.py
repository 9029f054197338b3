"""Address search: text as typed → ranked candidates (door plates, roads, places, points).

The text is parsed (``parse.parse_address``); the name of the road or place is looked up in the
name list with the database's trigram index — SQLite FTS5 (``trigram`` tokenizer) or PostgreSQL
``pg_trgm`` — as a substring (names of one or two characters as a prefix). When nothing matches,
the search widens step by step: the name without its road word (兴盛街 finds 兴盛路), without
leading words that are not part of any name (盘锦大洼兴盛路), then with any one character wrong
(兴胜路). A door number is then looked up on the best roads; a number not in the gazetteer is
interpolated along the road and marked so. Ranking is described in docs/gazetteer.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Integer, bindparam, column, func, or_, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.geo.gazetteer.interpolate import KnownPlate, interpolate
from wenming.geo.gazetteer.models import DoorPlate, GazetteerName, Road
from wenming.geo.gazetteer.parse import (
    ParsedAddress,
    name_key,
    parse_address,
    plate_label,
    road_core,
)
from wenming.geo.geometry import from_wkb
from wenming.geo.index import GridIndex, cache_for
from wenming.org.models import AdminUnit

MAX_CANDIDATE_NAMES = 100
MAX_ROADS_FOR_NUMBER = 3
MAX_LEADING_DROPS = 6
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_QUERY_LENGTH = 100

# How much a way of matching is worth (see docs/gazetteer.md, "Ranking").
EXACT, PREFIX, SUBSTRING = 1.0, 0.9, 0.8
WIDENED = {"name": 1.0, "core": 0.85, "tail": 0.9, "typo": 0.7}
ALIAS_FACTOR = 0.97
OTHER_UNIT_FACTOR = 0.85
NOT_A_ROAD_FACTOR = 0.9
ROAD_WITHOUT_NUMBER_FACTOR = 0.75
MISSING_DETAIL_FACTOR = 0.97
INTERPOLATED_FACTOR = 0.9
KIND_ORDER = {"address": 0, "road": 1, "place": 2, "point": 3}


@dataclass(frozen=True)
class NameHit:
    """A row of the name list that matched, with how it matched."""

    kind: str
    ref_id: int
    code: str
    name: str
    alias: bool
    unit_code: str | None
    lon: float
    lat: float
    widened: str
    term: str


@dataclass
class Candidate:
    """One answer of the search."""

    label: str
    kind: str
    codes: dict[str, str] = field(default_factory=dict)
    lon: float = 0.0
    lat: float = 0.0
    grid_code: str | None = None
    score: float = 0.0
    interpolated: bool = False
    ref: tuple[str, int] = ("", 0)

    def as_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "label": self.label,
            "kind": self.kind,
            "codes": self.codes,
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "grid_code": self.grid_code,
            "score": round(self.score, 4),
            "interpolated": self.interpolated,
        }


# --- the name list ------------------------------------------------------------------------------

_NAMES = select(
    GazetteerName.kind,
    GazetteerName.ref_id,
    GazetteerName.code,
    GazetteerName.name,
    GazetteerName.alias,
    GazetteerName.unit_code,
    GazetteerName.lon,
    GazetteerName.lat,
).order_by(func.length(GazetteerName.search_text), GazetteerName.id)
# SQLite: the FTS5 trigram table answers which names contain a phrase of 3+ characters.
_SQLITE_MATCH = _NAMES.where(
    GazetteerName.id.in_(
        text("SELECT rowid FROM gaz_name_fts WHERE gaz_name_fts MATCH :query").columns(
            column("rowid", Integer)
        )
    )
).limit(bindparam("cap"))
# SQLite: a prefix is a range of the B-tree index on search_text (BINARY order is code point
# order; LIKE cannot use it, being case-insensitive).
_SQLITE_PREFIX = _NAMES.where(
    GazetteerName.search_text >= bindparam("low"), GazetteerName.search_text < bindparam("high")
).limit(bindparam("cap"))
# SQLite: two characters anywhere in a name, which no trigram index can serve: one pass over
# the name list (instr is cheaper than LIKE).
_SQLITE_CONTAINS = _NAMES.where(func.instr(GazetteerName.search_text, bindparam("term")) > 0).limit(
    bindparam("cap")
)
# PostgreSQL: LIKE on the pg_trgm GIN index (substrings and prefixes).
_LIKE = _NAMES.where(GazetteerName.search_text.like(bindparam("pattern"), escape="\\")).limit(
    bindparam("cap")
)
_LAST_CHARACTER = "\U0010ffff"


def _escape_like(value: str) -> str:
    """A value for a LIKE pattern with its wildcards taken literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _escape_glob(value: str) -> str:
    """A value for a GLOB pattern with its wildcards taken literally."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in value)


def _fts_phrase(value: str) -> str:
    """An FTS5 phrase query for a literal substring."""
    return '"' + value.replace('"', '""') + '"'


async def _run(
    session: AsyncSession, statement: Any, params: dict[str, Any], widened: str, term: str
) -> list[NameHit]:
    """The hits of one name query."""
    cap = MAX_CANDIDATE_NAMES if len(term) > 1 else MAX_CANDIDATE_NAMES // 2
    rows = await _rows(session, statement, {**params, "cap": cap})
    return [_hit(row, widened, term) for row in rows]


async def _rows(
    session: AsyncSession, statement: Any, params: dict[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of a Core statement on the session's connection: the search runs several small
    queries per keystroke, and ORM execution would add a good part of each one's cost."""
    connection = await session.connection()
    return (await connection.execute(statement, params or {})).all()


async def _name_rows(
    session: AsyncSession, term: str, widened: str, *, substring: bool = True
) -> list[NameHit]:
    """Names containing ``term``: through the trigram index from three characters; a prefix for
    one character; for two, a prefix and then, when none starts so (and ``substring``), a
    substring."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if len(term) >= 3:
        if sqlite:
            return await _run(session, _SQLITE_MATCH, {"query": _fts_phrase(term)}, widened, term)
        pattern = f"%{_escape_like(term)}%"
        return await _run(session, _LIKE, {"pattern": pattern}, widened, term)
    if sqlite:
        prefix = {"low": term, "high": term + _LAST_CHARACTER}
        hits = await _run(session, _SQLITE_PREFIX, prefix, widened, term)
    else:
        hits = await _run(session, _LIKE, {"pattern": f"{_escape_like(term)}%"}, widened, term)
    if hits or len(term) < 2 or not substring:
        return hits
    if sqlite:
        return await _run(session, _SQLITE_CONTAINS, {"term": term}, widened, term)
    return await _run(session, _LIKE, {"pattern": f"%{_escape_like(term)}%"}, widened, term)


async def _typo_rows(session: AsyncSession, term: str) -> list[NameHit]:
    """Names starting like ``term`` with any one character wrong.

    A wrong character after the first: names starting with the first character (SQLite: a range
    of the B-tree index, then GLOB patterns; PostgreSQL: LIKE patterns, the prefix through the
    trigram index). A wrong first character, when three or more characters follow: names
    containing the rest, through the trigram index.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    first, count = term[0], len(term)
    if sqlite:
        globs = [
            _escape_glob(term[:i]) + "?" + _escape_glob(term[i + 1 :]) + "*"
            for i in range(1, count)
        ]
        statement = _NAMES.where(
            GazetteerName.search_text >= bindparam("low"),
            GazetteerName.search_text < bindparam("high"),
            or_(
                *(
                    GazetteerName.search_text.op("GLOB")(bindparam(f"p{i}"))
                    for i in range(count - 1)
                )
            ),
        ).limit(bindparam("cap"))
        params: dict[str, Any] = {f"p{i}": glob for i, glob in enumerate(globs)}
        params.update(low=first, high=first + _LAST_CHARACTER)
    else:
        patterns = [
            _escape_like(term[:i]) + "_" + _escape_like(term[i + 1 :]) + "%"
            for i in range(1, count)
        ]
        statement = _NAMES.where(
            GazetteerName.search_text.like(bindparam("prefix"), escape="\\"),
            or_(
                *(
                    GazetteerName.search_text.like(bindparam(f"p{i}"), escape="\\")
                    for i in range(count - 1)
                )
            ),
        ).limit(bindparam("cap"))
        params = {f"p{i}": pattern for i, pattern in enumerate(patterns)}
        params["prefix"] = _escape_like(first) + "%"
    hits = await _run(session, statement, params, "typo", term)
    if count >= 4:
        rest = await _name_rows(session, term[1:], "typo")
        hits += [replace(hit, term=term) for hit in rest if len(name_key(hit.name)) >= count]
    return hits


def _hit(row: Any, widened: str, term: str) -> NameHit:
    """A name row as a hit."""
    return NameHit(
        kind=str(row.kind),
        ref_id=int(row.ref_id),
        code=str(row.code),
        name=str(row.name),
        alias=bool(row.alias),
        unit_code=row.unit_code,
        lon=float(row.lon),
        lat=float(row.lat),
        widened=widened,
        term=term,
    )


async def find_names(session: AsyncSession, term: str, road: bool) -> list[NameHit]:
    """Names for a term, widening the search step by step until something matches."""
    hits = await _name_rows(session, term, "name")
    if hits:
        return hits
    core = road_core(term) if road else term
    if core != term:
        hits = await _name_rows(session, core, "core", substring=False)
        if hits:
            return hits
    tail = term
    for _drop in range(MAX_LEADING_DROPS):
        if len(tail) <= 3:
            break
        tail = tail[1:]
        hits = await _name_rows(session, tail, "tail")
        if hits:
            return hits
    if len(term) >= 3:
        return await _typo_rows(session, term)
    return []


# --- ranking ------------------------------------------------------------------------------------


def name_score(hit: NameHit) -> float:
    """How well a name matches the term it was found with, 0..1."""
    key = name_key(hit.name)
    searched = hit.term
    if hit.widened == "typo":
        base = PREFIX if len(key) == len(searched) else SUBSTRING * len(searched) / max(len(key), 1)
    elif key == searched:
        base = EXACT
    elif key.startswith(searched):
        base = PREFIX + 0.1 * len(searched) / max(len(key), 1) - 0.1
    elif searched in key:
        base = SUBSTRING + 0.1 * len(searched) / max(len(key), 1) - 0.1
    else:
        base = SUBSTRING * len(searched) / max(len(key), 1)
    score = base * WIDENED[hit.widened]
    if hit.alias:
        score *= ALIAS_FACTOR
    return score


def _within(unit_code: str | None, prefixes: Sequence[str]) -> bool:
    """Whether a unit lies under one of the named units or above it (a road of the district
    runs through the named street); codes are hierarchical."""
    if unit_code is None:
        return False
    own = unit_prefix(unit_code)
    return any(unit_code.startswith(p) or p.startswith(own) for p in prefixes)


def unit_prefix(code: str) -> str:
    """The leading digits that every unit under a 12-digit unit code shares."""
    stripped = code.rstrip("0")
    if len(stripped) <= 2:
        return code[:2]
    if len(stripped) <= 4:
        return code[:4]
    if len(stripped) <= 6:
        return code[:6]
    if len(stripped) <= 9:
        return code[:9]
    return code


async def named_unit_prefixes(session: AsyncSession, parsed: ParsedAddress) -> list[str]:
    """Code prefixes of the street/town and community units the address names (the smallest
    level known wins); province, city and district names only confirm the deployment."""
    names = [part.name for part in parsed.admin if part.level in ("street", "community")]
    if not names:
        return []
    rows = await _rows(
        session, select(AdminUnit.code, AdminUnit.level).where(AdminUnit.name.in_(names))
    )
    found = sorted(rows, key=lambda row: -int(row[1]))
    if not found:
        return []
    deepest = int(found[0][1])
    return [unit_prefix(str(code)) for code, level in found if int(level) == deepest]


# --- door numbers -------------------------------------------------------------------------------

# Each road asked about with its line and its plates bearing the asked number (one query).
_ROADS_WITH_PLATES = (
    select(
        Road.id.label("road_id"),
        Road.geometry,
        DoorPlate.id,
        DoorPlate.code,
        DoorPlate.number,
        DoorPlate.suffix,
        DoorPlate.building,
        DoorPlate.entrance,
        DoorPlate.room,
        DoorPlate.lon,
        DoorPlate.lat,
    )
    .select_from(Road)
    .outerjoin(
        DoorPlate,
        (DoorPlate.road_id == Road.id) & (DoorPlate.number == bindparam("number")),
    )
    .where(Road.id.in_(bindparam("road_ids", expanding=True)))
)


async def neighbours(
    session: AsyncSession, road_id: int, number: int
) -> tuple[list[KnownPlate], list[KnownPlate]]:
    """The two nearest stored plates of the same parity below and above a number."""
    parity = number % 2
    sides = []
    for below in (True, False):
        sides.append(
            select(DoorPlate.number, DoorPlate.lon, DoorPlate.lat)
            .where(
                DoorPlate.road_id == road_id,
                DoorPlate.number < number if below else DoorPlate.number > number,
                DoorPlate.number % 2 == parity,
                DoorPlate.building.is_(None),
            )
            .order_by(DoorPlate.number.desc() if below else DoorPlate.number.asc())
            .limit(2)
            .subquery()
        )
    statement = union_all(select(sides[0]), select(sides[1]))
    plates = [
        KnownPlate(int(n), float(lon), float(lat))
        for n, lon, lat in await _rows(session, statement)
    ]
    return (
        sorted((p for p in plates if p.number < number), key=lambda p: -p.number),
        sorted((p for p in plates if p.number > number), key=lambda p: p.number),
    )


def _detail_score(parsed: ParsedAddress, plate: Any) -> float | None:
    """How a plate's building, entrance and room fit the asked ones (None: another plate)."""
    factor = 1.0
    for asked, stored in (
        (parsed.building, plate.building),
        (parsed.entrance, plate.entrance),
        (parsed.room, plate.room),
    ):
        if asked is None:
            if stored is not None:
                return None
        elif stored is None:
            factor *= MISSING_DETAIL_FACTOR
        elif str(stored).upper() != asked.upper():
            return None
    return factor


async def plates_on(
    session: AsyncSession, roads: Sequence[Candidate], parsed: ParsedAddress
) -> list[Candidate]:
    """The plates with the asked number on some roads, or the number interpolated along each
    road that has no such plate."""
    assert parsed.number is not None
    by_id = {road.ref[1]: road for road in roads}
    rows = await _rows(
        session, _ROADS_WITH_PLATES, {"number": parsed.number, "road_ids": sorted(by_id)}
    )
    answers: list[Candidate] = []
    lines: dict[int, bytes] = {}
    for row in rows:
        road = by_id[int(row.road_id)]
        lines[road.ref[1]] = row.geometry
        if row.id is None or row.suffix != parsed.suffix:
            continue
        factor = _detail_score(parsed, row)
        if factor is None:
            continue
        answers.append(
            Candidate(
                label=plate_label(
                    road.label, row.number, row.suffix, row.building, row.entrance, row.room
                ),
                kind="address",
                codes={"address": row.code, "road": road.codes["road"]},
                lon=row.lon,
                lat=row.lat,
                score=road.score * factor,
                ref=("address", int(row.id)),
            )
        )
    found: list[Candidate] = []
    for road_id, road in by_id.items():
        own = [a for a in answers if a.codes["road"] == road.codes["road"]]
        if own:
            best = max(a.score for a in own)
            found.extend(a for a in own if a.score == best)
        elif road_id in lines:
            below, above = await neighbours(session, road_id, parsed.number)
            lon, lat = interpolate(from_wkb(lines[road_id]), parsed.number, below, above)
            found.append(
                Candidate(
                    label=plate_label(road.label, parsed.number, parsed.suffix),
                    kind="address",
                    codes={"road": road.codes["road"]},
                    lon=lon,
                    lat=lat,
                    score=road.score * INTERPOLATED_FACTOR,
                    interpolated=True,
                    ref=("interpolated", road_id),
                )
            )
    return found


# --- the search ---------------------------------------------------------------------------------


def _candidate(hit: NameHit, score: float) -> Candidate:
    """A name hit as an answer (roads, places and points are answered by their own name)."""
    return Candidate(
        label=hit.name,
        kind=hit.kind,
        codes={hit.kind: hit.code},
        lon=hit.lon,
        lat=hit.lat,
        score=score,
        ref=(hit.kind, hit.ref_id),
    )


async def _entity_names(session: AsyncSession, refs: Sequence[tuple[str, int]]) -> dict[Any, str]:
    """The main (not alias) names of roads and places answered through an alias."""
    if not refs:
        return {}
    rows = await _rows(
        session,
        select(GazetteerName.kind, GazetteerName.ref_id, GazetteerName.name).where(
            GazetteerName.alias.is_(False),
            GazetteerName.kind.in_(["road", "place"]),
            GazetteerName.ref_id.in_(sorted({ref_id for _kind, ref_id in refs})),
        ),
    )
    return {(str(kind), int(ref_id)): str(name) for kind, ref_id, name in rows}


def _grid_code(index: GridIndex, lon: float, lat: float) -> str | None:
    """The code of the grid covering a point, if any."""
    grid_id = index.locate_point(lon, lat)
    return None if grid_id is None else index.code_of(grid_id)


async def search(
    session: AsyncSession,
    query: str,
    limit: int = DEFAULT_LIMIT,
    *,
    grids: GridIndex | None = None,
) -> list[Candidate]:
    """Ranked candidates for an address as typed, best first (at most ``limit``).

    Grids come from ``grids`` when given (the public endpoint passes its recent snapshot of the
    grid layer, as ``/geo/locate`` answers from), else from the current grid index.
    """
    parsed = parse_address(query[:MAX_QUERY_LENGTH])
    if parsed.name is None:
        return []
    if session.new or session.dirty or session.deleted:
        await session.flush()
    prefixes = await named_unit_prefixes(session, parsed)
    hits: list[NameHit] = []
    if parsed.admin and len(parsed.name) <= 2:
        # 新兴镇中街: the last unit's name may belong to a short road or place name.
        hits = await _name_rows(session, parsed.admin[-1].name + parsed.name, "name")
    hits += await find_names(session, parsed.name, parsed.road or parsed.number is not None)
    best: dict[tuple[str, int], Candidate] = {}
    for hit in hits:
        score = name_score(hit)
        if prefixes and not _within(hit.unit_code, prefixes):
            score *= OTHER_UNIT_FACTOR
        if (parsed.road or parsed.number is not None) and hit.kind != "road":
            score *= NOT_A_ROAD_FACTOR
        key = (hit.kind, hit.ref_id)
        if key not in best or best[key].score < score:
            best[key] = _candidate(hit, score)
    aliased = [
        (hit.kind, hit.ref_id) for hit in hits if hit.alias and hit.kind in ("road", "place")
    ]
    main_names = await _entity_names(session, aliased)
    for candidate in best.values():
        candidate.label = main_names.get(candidate.ref, candidate.label)
    answers = _drop_point_twins(list(best.values()))
    if parsed.number is not None:
        roads = sorted((c for c in answers if c.kind == "road"), key=lambda c: (-c.score, c.label))[
            :MAX_ROADS_FOR_NUMBER
        ]
        top = roads[0].score if roads else 0.0
        close = [road for road in roads if road.score >= top * 0.8]
        if close:
            answers.extend(await plates_on(session, close, parsed))
        for road in roads:
            road.score *= ROAD_WITHOUT_NUMBER_FACTOR
    answers.sort(key=lambda c: (-round(c.score, 6), KIND_ORDER[c.kind], len(c.label), c.label))
    chosen = answers[:limit]
    if chosen:
        index = grids if grids is not None else await cache_for(session).get(session)
        for candidate in chosen:
            candidate.grid_code = _grid_code(index, candidate.lon, candidate.lat)
    return chosen


def _drop_point_twins(candidates: list[Candidate]) -> list[Candidate]:
    """Inspection points named like a road or place that is also answered are left out: the
    gazetteer entry says the same and carries the aliases."""
    named = {name_key(c.label) for c in candidates if c.kind in ("road", "place")}
    return [c for c in candidates if c.kind != "point" or name_key(c.label) not in named]
