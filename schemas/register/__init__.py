"""The county register: towns (乡镇/街道), villages (村/社区) and grids (网格) by code and name.

The file is CSV in the national statistical division code style (国家统计局 统计用区划代码): one row per
place with the columns `code,name,level,parent,urban_rural`. County, towns and villages carry 12-digit
statistical codes (370784000000, 370784101000, 370784101201), grids the village code, a dash and a
number (370784101201-01); `parent` is the code of the place one level up; `urban_rural` is the
urban-rural type code (城乡分类代码, villages only). On the wire a county is its first 6 digits, a town
its first 9, a village all 12, a grid as written: those are the codes every lookup here takes.
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

import orjson

BUNDLED = "bundled"
COLUMNS = ["code", "name", "level", "parent", "urban_rural"]
Level = Literal["county", "town", "village", "grid"]
LEVELS: tuple[Level, ...] = ("county", "town", "village", "grid")
# Statistical code of each level (pattern, said in words), and how many of its characters make the wire code.
CODE_PATTERNS = {
    "county": (r"\d{6}000000", "6 digits then 000000"),
    "town": (r"\d{9}000", "9 digits then 000"),
    "village": (r"\d{9}(?!000)\d{3}", "12 digits, the last 3 not 000"),
    "grid": (r"\d{12}-\d{2,4}", "the village's 12 digits, a dash and 2-4 digits"),
}
WIRE_LENGTH = {"county": 6, "town": 9, "village": 12, "grid": None}
URBAN_RURAL = {"111", "112", "121", "122", "123", "210", "220"}  # 国家统计局 统计用城乡划分代码
Refusal = tuple[str, str, dict[str, str]]


class RegisterError(ValueError):
    """A register file that cannot be used, with the line that says why."""


class AreaCodes(Protocol):
    """What the register checks: an Area's town, village and optional grid codes."""

    town: str
    village: str
    grid: str | None


@dataclass(frozen=True, slots=True)
class Place:
    """One place of the register, by its wire code; parent is the wire code one level up (None for the county)."""

    code: str
    name: str
    level: Level
    parent: str | None
    urban_rural: str | None = None


class Register:
    """The places of one county, looked up by wire code."""

    def __init__(self, places: list[Place]) -> None:
        self.places = {place.code: place for place in places}
        self.county = next(place for place in places if place.level == "county")
        self.children: dict[str, list[Place]] = {code: [] for code in self.places}
        for place in places:
            if place.parent is not None:
                self.children[place.parent].append(place)
        self.served_json = orjson.dumps(self.served())
        self.etag = '"' + hashlib.sha256(self.served_json).hexdigest()[:32] + '"'

    def _at(self, level: Level, code: str) -> Place | None:
        place = self.places.get(code)
        return place if place is not None and place.level == level else None

    def town(self, code: str) -> Place | None:
        """The town (乡镇/街道) with this 9-digit code."""
        return self._at("town", code)

    def village(self, code: str) -> Place | None:
        """The village (村/社区) with this 12-digit code."""
        return self._at("village", code)

    def grid(self, code: str) -> Place | None:
        """The grid (网格) with this code."""
        return self._at("grid", code)

    def name_of(self, code: str) -> str | None:
        """The name of the county, town, village or grid with this wire code; None when the register has no such place."""
        place = self.places.get(code)
        return place.name if place is not None else None

    def refusal(self, area: AreaCodes) -> Refusal | None:
        """Why the register refuses this area, as (field, message key, parameters); None when every code is known and nested."""
        town = self.town(area.town)
        if town is None:
            return "area.town", "register.unknown_town", {"code": area.town}
        village = self.village(area.village)
        if village is None:
            return "area.village", "register.unknown_village", {"code": area.village, "town": town.name}
        if village.parent != town.code:
            belongs = self.places[village.parent].name
            return (
                "area.village",
                "register.village_not_in_town",
                {"code": village.code, "name": village.name, "town": town.name, "belongs": belongs},
            )
        if area.grid is None:
            return None
        grid = self.grid(area.grid)
        if grid is None:
            return "area.grid", "register.unknown_grid", {"code": area.grid, "village": village.name}
        if grid.parent != village.code:
            belongs = self.places[grid.parent].name
            return "area.grid", "register.grid_not_in_village", {"code": grid.code, "village": village.name, "belongs": belongs}
        return None

    def served(self) -> dict:
        """The county's towns, villages and grids as GET /v1/register serves them (for pickers)."""
        return {
            "county": _named(self.county),
            "towns": [
                {
                    **_named(town),
                    "villages": [
                        {**_named(village), "grids": [_named(grid) for grid in self.children[village.code]]}
                        for village in self.children[town.code]
                    ],
                }
                for town in self.children[self.county.code]
            ],
        }


def _named(place: Place) -> dict[str, str]:
    return {"code": place.code, "name": place.name}


def parse_register(text: str) -> Register:
    """Read a register from its CSV text, refusing any row that breaks the format or the nesting of codes."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames != COLUMNS:
        raise RegisterError(f"line 1: the header must be {','.join(COLUMNS)}, not {','.join(reader.fieldnames or [])}")
    places: dict[str, Place] = {}
    statistical_to_wire: dict[str, str] = {}
    for line, row in enumerate(reader, start=2):
        if row.get("code") in statistical_to_wire:
            raise RegisterError(f"line {line}: code {row['code']} appears twice")
        place = _place(row, line, statistical_to_wire)
        if place.parent is not None and places[place.parent].level != _level_above(place.level):
            raise RegisterError(
                f"line {line}: parent {row['parent']} of {row['code']} is a {places[place.parent].level}, not a {_level_above(place.level)}"
            )
        places[place.code] = place
        statistical_to_wire[row["code"]] = place.code
    counties = [place for place in places.values() if place.level == "county"]
    if len(counties) != 1:
        raise RegisterError(f"a register lists exactly one county, this one {len(counties)}")
    return Register(list(places.values()))


def _level_above(level: Level) -> Level:
    return LEVELS[LEVELS.index(level) - 1]


def _place(row: dict[str, str | None], line: int, statistical_to_wire: dict[str, str]) -> Place:
    """One row as a place with wire codes, checked against its level's code pattern and its parent's code."""
    if None in row or any(value is None for value in row.values()):
        raise RegisterError(f"line {line}: expected the {len(COLUMNS)} columns {','.join(COLUMNS)}")
    code, name, level, parent, urban_rural = (row[column].strip() for column in COLUMNS)
    if level not in LEVELS:
        raise RegisterError(f"line {line}: level {level!r} is not one of {', '.join(LEVELS)}")
    pattern, in_words = CODE_PATTERNS[level]
    if not re.fullmatch(pattern, code):
        raise RegisterError(f"line {line}: {code!r} is not a {level} code ({in_words})")
    if not name:
        raise RegisterError(f"line {line}: {code} has no name")
    if urban_rural and (level != "village" or urban_rural not in URBAN_RURAL):
        raise RegisterError(
            f"line {line}: urban-rural code {urban_rural!r} applies to villages only, one of {', '.join(sorted(URBAN_RURAL))}"
        )
    if level == "county":
        if parent:
            raise RegisterError(f"line {line}: the county has no parent")
        return Place(code[:6], name, level, None)
    wire_parent = statistical_to_wire.get(parent)
    if wire_parent is None:
        raise RegisterError(f"line {line}: parent {parent!r} of {code} is not listed above it")
    wire = code if WIRE_LENGTH[level] is None else code[: WIRE_LENGTH[level]]
    nested = code.startswith(wire_parent if level != "grid" else f"{wire_parent}-")
    if not nested:
        raise RegisterError(f"line {line}: code {code} does not begin with its parent's code {parent}")
    return Place(wire, name, level, wire_parent, urban_rural or None)


@cache
def load_register(source: str = BUNDLED) -> Register:
    """The bundled register (Anqiu, seed 000) or one from a CSV file path; read once per process and source."""
    if source == BUNDLED:
        text = resources.files("schemas.register").joinpath("anqiu.csv").read_text(encoding="utf-8")
    else:
        text = Path(source).read_text(encoding="utf-8")
    return parse_register(text)
