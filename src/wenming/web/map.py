"""The map page: streets, communities, grids, inspection points and components on Leaflet.

Everything the page needs comes from this server: Leaflet's files from the installed
``django-js-lib-leaflet`` package (mounted at ``/static/vendor/leaflet``, never copied into the
repository, never from a CDN), our own ``static/map/map.js``, and the data from the geography API.
Tiles are optional: ``WENMING_MAP_TILES`` names an XYZ or WMTS URL template (天地图 with its key,
an intranet tile server); without it the map draws boundaries and markers on a plain background
and the browser requests nothing else. The page's Content-Security-Policy lets images come from
the configured tile hosts only, and only on this page.

Tile sources that use GCJ-02 (``WENMING_MAP_TILES_CRS=gcj02``) get the layers through
``/map/layers/{layer}``, which converts the stored WGS-84 coordinates on the way out.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from wenming.auth.deps import SignedInActor
from wenming.core.config import Settings
from wenming.core.deps import DbSession
from wenming.core.errors import Forbidden
from wenming.geo import service
from wenming.geo.api import GEOJSON_MEDIA_TYPE
from wenming.geo.crs import Crs, from_wgs84_array
from wenming.geo.models import LocationType
from wenming.geo.version import Layer
from wenming.i18n import N_
from wenming.org.roles import Permission
from wenming.org.scope import Actor
from wenming.web.deps import PageActor
from wenming.web.headers import CONTENT_SECURITY_POLICY
from wenming.web.rendering import has_permission, render, request_language, translator

router = APIRouter(include_in_schema=False)

LEAFLET_PACKAGE = "js_lib_leaflet"
LEAFLET_DISTRIBUTION = "django-js-lib-leaflet"
LEAFLET_PREFIX = "/static/vendor/leaflet"
API_LAYERS_URL = "/api/v1/geo/layers/{layer}"
CONVERTED_LAYERS_URL = "/map/layers/{layer}"
GRID_URL = "/api/v1/geo/grids/{code}"
LOCATE_URL = "/api/v1/geo/locate"

# Placeholders a tile template may use (Leaflet's): subdomain, zoom, column, row, TMS row, retina.
TILE_PLACEHOLDERS = frozenset({"s", "z", "x", "y", "-y", "r"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# A subdomain range such as 天地图's ``t{0-7}``: one character to another.
_SUBDOMAIN_RANGE = re.compile(r"\{([0-9a-z])-([0-9a-z])\}")
_HOST = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_UNSAFE = re.compile(r"[\s\"'<>`;,\\]")
DEFAULT_SUBDOMAINS = "abc"
MAX_SUBDOMAINS = 16

# Colours of the component statuses and, in list order, of the inspection point types.
STATUS_COLOURS: dict[str, str] = {
    "intact": "#2e7d32",
    "damaged": "#ef6c00",
    "missing": "#c62828",
    "occupied": "#6a1b9a",
}
STATUS_LABELS: dict[str, str] = {
    "intact": N_("Intact"),
    "damaged": N_("Damaged"),
    "missing": N_("Missing"),
    "occupied": N_("Occupied"),
}
TYPE_COLOURS = (
    "#c62828", "#ad1457", "#6a1b9a", "#4527a0", "#283593", "#1565c0", "#0277bd", "#00838f",
    "#00695c", "#2e7d32", "#558b2f", "#9e9d24", "#f9a825", "#ff8f00", "#ef6c00", "#d84315",
    "#4e342e", "#546e7a", "#37474f", "#880e4f", "#1b5e20",
)  # fmt: skip
# Words the map script shows (msgids), translated into the page's language.
MAP_TEXT: dict[str, str] = {
    "street": N_("Street / town"),
    "community": N_("Community / village"),
    "grid": N_("Grid"),
    "point": N_("Inspection point"),
    "component": N_("Component"),
    "code": N_("Code"),
    "name": N_("Place name"),
    "type": N_("Type"),
    "unit": N_("Unit"),
    "area": N_("Area"),
    "land_use": N_("Land use"),
    "grade": N_("Management grade"),
    "party": N_("Responsible party"),
    "fallback": N_("territorial fallback (属地兜底)"),
    "workers": N_("Grid workers"),
    "no_workers": N_("No grid worker is assigned."),
    "status": N_("Status"),
    "class": N_("Class / subclass"),
    "owner": N_("Owner department"),
    "maintainer": N_("Maintainer department"),
    "synthetic": N_("Synthetic"),
    "loading": N_("Loading the map data…"),
    "ready": N_("Map ready."),
    "load_failed": N_("Some map data could not be loaded. Reload the page to try again."),
    "details_failed": N_("The details could not be loaded. Try again."),
    "empty_search": N_("Enter a code, or a longitude and latitude such as 122.08,40.99."),
    "not_found": N_("Nothing with the code %(code)s is on the map."),
    "outside": N_("No grid covers this place. The nearest grid is %(code)s, %(distance)s m away."),
    "located": N_("This place lies in grid %(code)s."),
    "nothing_visible": N_("No geography lies within your territory yet."),
    "show_on_map": N_("Show on map"),
    "none": N_("none"),
}


class TileSourceProblem(ValueError):
    """``WENMING_MAP_TILES`` cannot be used; the message says what to change."""


@dataclass(frozen=True)
class TileSource:
    """A usable tile template for Leaflet, its subdomains and the origins images come from."""

    template: str
    subdomains: str
    origins: tuple[str, ...]


def tile_source(template: str | None) -> TileSource | None:
    """Read a tile URL template; None when none is configured.

    Accepts Leaflet's placeholders ``{z} {x} {y} {-y} {s} {r}`` and a subdomain range written
    ``{0-7}`` (as 天地图 documents ``t{0-7}``). A template that starts with ``/`` is served by this
    site; any other must be an absolute http(s) URL whose host is a plain host name (the origins
    go into the page's Content-Security-Policy, so nothing else may slip in).
    """
    value = (template or "").strip()
    if not value:
        return None
    if _UNSAFE.search(value):
        raise TileSourceProblem(
            "WENMING_MAP_TILES must be one URL without spaces, quotes, commas, semicolons or "
            "backslashes"
        )
    subdomains = ""
    if found := _SUBDOMAIN_RANGE.search(value):
        first, last = found.group(1), found.group(2)
        if first > last or first.isdigit() != last.isdigit():
            raise TileSourceProblem(
                f"the subdomain range {found.group(0)} in WENMING_MAP_TILES must run from one "
                "digit or letter up to another, e.g. {0-7}"
            )
        subdomains = "".join(chr(code) for code in range(ord(first), ord(last) + 1))
        value = value[: found.start()] + "{s}" + value[found.end() :]
    placeholders = set(_PLACEHOLDER.findall(value))
    unknown = sorted(placeholders - TILE_PLACEHOLDERS)
    if unknown or value.count("{") != value.count("}"):
        raise TileSourceProblem(
            "WENMING_MAP_TILES may only use the placeholders {z}, {x}, {y}, {-y}, {s}, {r} and a "
            f"subdomain range such as {{0-7}}; found {', '.join('{' + u + '}' for u in unknown)}"
            if unknown
            else "WENMING_MAP_TILES has unbalanced braces"
        )
    if "z" not in placeholders or "x" not in placeholders or not placeholders & {"y", "-y"}:
        raise TileSourceProblem(
            "WENMING_MAP_TILES must contain {z}, {x} and {y} (or {-y}), e.g. "
            "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
        )
    if "s" in placeholders and not subdomains:
        subdomains = DEFAULT_SUBDOMAINS
    if len(subdomains) > MAX_SUBDOMAINS:
        raise TileSourceProblem(
            f"WENMING_MAP_TILES names {len(subdomains)} subdomains; at most {MAX_SUBDOMAINS}"
        )
    if value.startswith("/") and not value.startswith("//"):
        return TileSource(value, subdomains or DEFAULT_SUBDOMAINS, ())
    return TileSource(value, subdomains or DEFAULT_SUBDOMAINS, _origins(value, subdomains))


def usable_tile_source(settings: Settings) -> TileSource | None:
    """The configured tile source, or None when there is none or it cannot be read (the map page
    names the problem; every other map just draws without tiles)."""
    try:
        return tile_source(settings.map_tiles)
    except TileSourceProblem:
        return None


def _origins(template: str, subdomains: str) -> tuple[str, ...]:
    """The scheme://host[:port] origins an absolute tile template fetches from."""
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TileSourceProblem(
            "WENMING_MAP_TILES must be an http:// or https:// URL (or a path on this site "
            "starting with /), e.g. https://tiles.example.gov.cn/{z}/{x}/{y}.png"
        )
    hosts = (
        [parts.netloc.replace("{s}", sub) for sub in subdomains]
        if "{s}" in parts.netloc
        else [parts.netloc]
    )
    origins: list[str] = []
    for netloc in hosts:
        host, _, port = netloc.partition(":")
        if "@" in netloc or not _HOST.fullmatch(host) or (port and not port.isdigit()):
            raise TileSourceProblem(
                f"the host {parts.netloc!r} of WENMING_MAP_TILES must be a plain host name with "
                "an optional port (placeholders other than {s} are not allowed there)"
            )
        origin = f"{parts.scheme}://{netloc.lower()}"
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def content_security_policy(source: TileSource | None) -> str:
    """The site's policy, with the tile hosts added to ``img-src`` when tiles are elsewhere."""
    if source is None or not source.origins:
        return CONTENT_SECURITY_POLICY
    directives = [
        f"{directive} {' '.join(source.origins)}" if directive.startswith("img-src ") else directive
        for directive in CONTENT_SECURITY_POLICY.split("; ")
    ]
    return "; ".join(directives)


def display_crs(settings: Settings, source: TileSource | None) -> Crs:
    """The coordinate system the map draws in: the tile source's, WGS-84 without tiles."""
    if source is None:
        return Crs.WGS84
    return Crs(settings.map_tiles_crs)


def leaflet_directory() -> Path:
    """Where the installed Leaflet package keeps leaflet.js, leaflet.css and images/."""
    spec = importlib.util.find_spec(LEAFLET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"Leaflet is missing: install the {LEAFLET_DISTRIBUTION} package "
            f"(`pip install {LEAFLET_DISTRIBUTION}`); the map page serves its files"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "static" / LEAFLET_PACKAGE


def leaflet_version() -> str:
    """The installed Leaflet package's version, to make browsers fetch new files after upgrades."""
    return importlib.metadata.version(LEAFLET_DISTRIBUTION)


def install(app: FastAPI) -> None:
    """Serve Leaflet's files and the map routes; call before the /static mount, which would
    otherwise answer for /static/vendor/leaflet first."""
    app.mount(LEAFLET_PREFIX, StaticFiles(directory=leaflet_directory()), name="vendor-leaflet")
    app.include_router(router)


def require_map_reader(actor: Actor) -> None:
    """The map is for staff: anyone whose roles may read the organisation somewhere."""
    if not has_permission(actor, Permission.READ_ORG):
        raise Forbidden("The map is for staff; your roles do not include it.")


async def location_types(session: DbSession, language: str) -> list[dict[str, str]]:
    """The active location types in their configured order, each with its name and colour."""
    rows = await session.scalars(
        select(LocationType)
        .where(LocationType.active.is_(True))
        .order_by(LocationType.sort_order, LocationType.code)
    )
    return [
        {
            "code": row.code,
            "name": row.name_zh if language == "zh" else row.name_en,
            "colour": TYPE_COLOURS[index % len(TYPE_COLOURS)],
        }
        for index, row in enumerate(rows.all())
    ]


@router.get("/map", response_class=HTMLResponse)
async def map_page(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """The map of the geography the person may see."""
    require_map_reader(actor)
    settings: Settings = request.app.state.settings
    translate = translator(request)
    problem: str | None = None
    try:
        source = tile_source(settings.map_tiles)
    except TileSourceProblem as exc:
        source, problem = None, str(exc)
    crs = display_crs(settings, source)
    language = request_language(request)
    text = {key: translate(message) for key, message in MAP_TEXT.items()}
    config: dict[str, Any] = {
        "text": text,
        "types": await location_types(session, language),
        "statuses": [
            {"code": code, "name": translate(STATUS_LABELS[code]), "colour": colour}
            for code, colour in STATUS_COLOURS.items()
        ],
    }
    context = {
        "tiles": source,
        "crs": crs.value,
        "tile_problem": problem,
        "layers_url": CONVERTED_LAYERS_URL if crs is not Crs.WGS84 else API_LAYERS_URL,
        "grid_url": GRID_URL,
        "locate_url": LOCATE_URL,
        "leaflet": lambda name: f"{LEAFLET_PREFIX}/{name}?v={leaflet_version()}",
        "map_config": config,
        "layer_names": [
            ("street", N_("Streets and towns")),
            ("community", N_("Communities and villages")),
            ("grid", N_("Unit grids")),
            ("point", N_("Inspection points")),
            ("component", N_("Components")),
        ],
    }
    headers = {"Content-Security-Policy": content_security_policy(source)}
    return render(request, "map/index.html", context, actor=actor, headers=headers)


def converted(collection: dict[str, Any], crs: Crs) -> dict[str, Any]:
    """A WGS-84 FeatureCollection with every position converted into another system."""
    positions: list[list[float]] = []

    def collect(value: Any) -> None:
        """Gather the [lon, lat] lists of a coordinates array, however deeply nested."""
        if value and isinstance(value[0], int | float):
            positions.append(value)
        else:
            for item in value:
                collect(item)

    for feature in collection.get("features", []):
        geometry = feature.get("geometry")
        if geometry:
            collect(geometry["coordinates"])
    if positions:
        lons, lats = from_wgs84_array(
            np.array([p[0] for p in positions]), np.array([p[1] for p in positions]), crs
        )
        for position, lon, lat in zip(positions, lons.tolist(), lats.tolist(), strict=True):
            position[0], position[1] = lon, lat
    return collection


@router.get("/map/layers/{layer}")
async def converted_layer(
    request: Request,
    layer: Layer,
    session: DbSession,
    actor: SignedInActor,
) -> Response:
    """A layer as GeoJSON in the tile source's coordinate system (GCJ-02 tiles need GCJ-02
    shapes); the same features and scope as ``GET /api/v1/geo/layers/{layer}``."""
    require_map_reader(actor)
    settings: Settings = request.app.state.settings
    source = usable_tile_source(settings)
    collection = await service.export_layer(session, actor, layer)
    crs = display_crs(settings, source)
    body = converted(collection, crs) if crs is not Crs.WGS84 else collection
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode(), media_type=GEOJSON_MEDIA_TYPE)
