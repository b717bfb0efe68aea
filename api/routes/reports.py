"""The monthly and quarterly report (月调度、季通报): figures per town and for the county, from the read model's report facts."""

import csv
import io
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from api.auth import Principal
from api.privilege import BoardReader
from schemas import readmodel
from schemas.messages import Text, language_from, say
from streams.rules.clock import SystemClock
from streams.rules.report import figures, months_of, period_of, placed, rows, unplaced

router = APIRouter(prefix="/v1", tags=["reports"])
clock = SystemClock()
Period = Annotated[str | None, Query(max_length=7, description="a month (2026-11) or a quarter (2026-Q4), China time")]
Town = Annotated[str | None, Query(pattern=r"^\d{9}$", description="a town's code; none for the county and every town")]
BOM = "\ufeff"  # so Excel reads the file as UTF-8 and shows the Chinese


def _town_of(principal: Principal, town: str | None) -> str | None:
    """The town the caller may be shown: a town officer only their own (by default too), the city and admins any or none."""
    scope = principal.area_scope
    if scope is None:
        return town
    field, code = scope
    if field == "village":
        raise HTTPException(status.HTTP_403_FORBIDDEN, Text("report.error.not_for_villages", {"role": principal.role}))
    if town not in (None, code):
        raise HTTPException(status.HTTP_403_FORBIDDEN, Text("report.error.outside_town", {"town": town, "role": principal.role}))
    return code


async def _facts(request: Request, months: list[str]) -> list[dict]:
    """Every report fact of the months, from their hashes in one round trip, each placed in a town (see report.placed)."""
    redis = request.app.state.redis
    async with redis.pipeline(transaction=False) as pipe:
        for month in months:
            pipe.hvals(readmodel.report_key(month))
        found = await pipe.execute()
    facts = [orjson.loads(value) for values in found for value in values]
    households = sorted(unplaced(facts))
    if not households:
        return facts
    async with redis.pipeline(transaction=False) as pipe:
        for household_id in households:
            pipe.hget(readmodel.household_key(household_id), "doc")
        views = [orjson.loads(doc) if doc else {} for doc in await pipe.execute()]
    return placed(facts, {h: (view.get("area") or {}).get("town") for h, view in zip(households, views, strict=True)})


async def report(request: Request, principal: Principal, period: str | None, town: str | None) -> dict:
    """The report of a period (this month by default): for one town, or for the county with each of its towns."""
    register = request.app.state.register
    town = _town_of(principal, town)
    if town is not None and register.town(town) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, Text("register.unknown_town", {"code": town}))
    period = period or period_of(clock.now())[0]
    months = months_of(period)
    if months is None:
        language = language_from(request.headers.get("accept-language"))
        problem = say("report.error.period", language)
        raise RequestValidationError([{"type": "report_period", "loc": ("query", "period"), "msg": problem, "input": period}])
    facts = await _facts(request, months)
    answer = {"period": period, "months": months, "generated_at": clock.now()}
    if town is not None:
        return answer | {"area": {"level": "town", "code": town, "name": register.name_of(town)}, "figures": figures(facts, town)}
    county = register.county
    by_town: dict[str | None, list[dict]] = {}
    for fact in facts:  # one pass, not one a town
        by_town.setdefault(fact["town"], []).append(fact)
    towns = [{"code": t.code, "name": t.name, "figures": figures(by_town.get(t.code, []))} for t in register.children[county.code]]
    return answer | {"area": {"level": "county", "code": county.code, "name": county.name}, "figures": figures(facts), "towns": towns}


def _cell(name: str, value: object) -> str:
    """A figure as a spreadsheet shows it: shares as percentages, nothing for a rate with nothing to divide."""
    if value is None:
        return ""
    if name.endswith(("share", "rate")):
        return f"{value * 100:.1f}%"
    return str(value)


def as_csv(answer: dict, language: str) -> str:
    """The report as CSV with a BOM: a header row (figure, code, then the county and its towns, or the town), a row a figure."""
    areas = [(answer["area"]["name"], answer["figures"]), *((t["name"], t["figures"]) for t in answer.get("towns", ()))]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([say("report.csv.figure", language), say("report.csv.code", language), *(name for name, _ in areas)])
    columns = [dict(rows(area_figures)) for _, area_figures in areas]
    for name, _ in rows(answer["figures"]):
        writer.writerow([say(f"report.row.{name}", language), name, *(_cell(name, column[name]) for column in columns)])
    return out.getvalue()


@router.get("/reports")
async def get_report(
    request: Request,
    principal: BoardReader,
    period: Period = None,
    town: Town = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """月调度、季通报: the figures of a month or quarter for a town, or for the county and each town; as JSON or CSV."""
    answer = await report(request, principal, period, town)
    if output == "json":
        return Response(orjson.dumps(answer), media_type="application/json")
    name = f"rapidaid-report-{answer['period']}-{answer['area']['code']}.csv"
    body = as_csv(answer, language_from(request.headers.get("accept-language")))
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})
