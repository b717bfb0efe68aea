"""The duty board in Chromium with canned open cases: time to first render and to apply one live update.

The board's own files are served through Playwright's route interception together with canned API
answers (cases, register, catalogue, a held-open live stream), so no stack is needed; the browser
tests use the same canned board.
"""

import asyncio
import json
import random
import statistics
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from urllib.parse import unquote, urlsplit

from schemas.case import Case, Factor, Report, Stage
from schemas.messages import LANGUAGES, messages
from schemas.register import load_register
from schemas.timing import Deadline
from streams.devtools.browser import CHROMIUM, FLAGS

ORIGIN = "http://board.test"
STATIC = resources.files("api") / "static"
PAGES = {"/": "board.html", "/intake": "intake.html"}
TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
SAID = [
    "孩子一个人在家，大人住院了，没人管饭",
    "老人摔倒在院子里起不来，家里没别人",
    "房子漏雨塌了一间，晚上没地方住",
    "丈夫突发脑出血送医院，交不起押金",
    "打工受伤回家，三个月没有收入了",
]
EMERGENCIES = ["medical_emergency", "child_unattended", "elderly_or_disabled_unattended", "no_food_or_shelter"]


def canned_register() -> dict:
    """The bundled county register as GET /v1/register serves it."""
    return load_register().served()


def _report(rng: random.Random, event_id: str, category: str, at: datetime) -> Report:
    return Report(
        event_id=event_id,
        source="hotline",
        kind=category,
        occurred_at=at,
        reported_at=at,
        received_at=at,
        reporter=rng.choice(["王秀英", "李建国", "张桂兰", None]),
        text=rng.choice(SAID) + "\n（接线员补记：已电话回访）",
        phone=rng.choice(["13805361234", "138****1234"]),
    )


def canned_case(rng: random.Random, serial: int, register: dict, now: datetime, status: str, track: str, priority: str) -> dict:
    """One open case document as GET /v1/cases serves it, with its callers' reports."""
    town = rng.choice(register["towns"])
    village = rng.choice(town["villages"])
    opened = now - timedelta(minutes=rng.randint(1, 110))
    due = {"red": now - timedelta(minutes=rng.randint(1, 40)), "yellow": now + timedelta(minutes=rng.randint(1, 15))}.get(
        status, now + timedelta(minutes=rng.randint(16, 110))
    )
    stage = rng.choice([Stage.OPENED, Stage.OPENED, Stage.ACKNOWLEDGED, Stage.ASSIGNED])
    category = rng.choice(EMERGENCIES) if track == "emergency" else "loss_of_income"
    case = Case(
        case_id=f"C{serial:08d}",
        household_id=f"H{serial:08d}",
        version=3,
        track=track,
        priority=priority,
        urgency={"P1": 85, "P2": 65, "P3": 40}[priority],
        factors=[
            Factor(code=f"hotline:{category}", points=60),
            Factor(code="household:children", points=10, detail="2 children"),
        ],
        policy_version="bench",
        status=status,
        tier=rng.choice(["village", "town", "city"]),
        area={"town": town["code"], "village": village["code"], "grid": village["grids"][0]["code"]},
        subject={"id_masked": f"3707**********{serial % 10000:04d}", "name": rng.choice(["王小明", "李秀兰", "张大山", "刘桂芳"])},
        category=category,
        opened_at=opened,
        deadlines={"acknowledge" if stage is Stage.OPENED else "aid": Deadline(started_at=opened, due_at=due)},
        stage=stage,
        assignee="景芝镇民政办" if stage is Stage.ASSIGNED else None,
        reports=[_report(rng, f"E{serial:08d}-{n}", category, opened + timedelta(minutes=n)) for n in range(rng.randint(1, 2))],
    ).model_dump(mode="json")
    case["factors"][1]["params"] = {"count": 2}  # factor parameters, as the catalogue's factor labels fill them in
    return case


def canned_cases(count: int, register: dict, now: datetime, seed: int = 7) -> list[dict]:
    """count open cases in every colour, priority and track, a few of them red standard-track leads."""
    rng = random.Random(seed)
    mix = [("red", "emergency", "P1"), ("red", "emergency", "P2"), ("yellow", "emergency", "P1"), ("yellow", "emergency", "P2")]
    mix += [("green", "emergency", "P1"), ("green", "emergency", "P2"), ("green", "emergency", "P2"), ("green", "standard", "P3")]
    mix += [("yellow", "standard", "P3"), ("red", "standard", "P3")]
    return [canned_case(rng, n, register, now, *mix[n % len(mix)]) for n in range(count)]


class CannedBoard:
    """Answers the pages' requests at ORIGIN from memory; live updates are pushed with push()."""

    def __init__(self, cases: list[dict], register: dict | None, me: dict) -> None:
        self.cases = {case["case_id"]: case for case in cases}
        self.register = register
        self.me = me
        self.timelines: dict[str, list[dict]] = {}
        self.posted: list[tuple[str, dict]] = []
        self._live: asyncio.Queue = asyncio.Queue()

    async def install(self, page) -> None:
        """Route every request of the page at ORIGIN to this board."""
        await page.route(f"{ORIGIN}/**", self._answer)

    async def push(self, case: dict) -> None:
        """Send one case update down the live stream the board holds open."""
        self.cases[case["case_id"]] = case
        route = await self._live.get()
        body = f"retry: 200\nevent: case\ndata: {json.dumps({'type': 'rescored', 'case': case}, ensure_ascii=False)}\n\n"
        await route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    async def _answer(self, route) -> None:
        request = route.request
        path = unquote(urlsplit(request.url).path)
        if path in PAGES or path.startswith("/static/"):
            name = PAGES.get(path) or path.removeprefix("/static/")
            return await route.fulfill(body=(STATIC / name).read_bytes(), headers={"Content-Type": TYPES[name.rsplit(".", 1)[1]]})
        if path == "/v1/live":
            return await self._live.put(route)  # held open until push() has something to say
        answer = self._json(request.method, path, request.post_data_json if request.method == "POST" else None)
        status, body = answer if answer else (404, {"detail": f"no route {path}"})
        await route.fulfill(status=status, json=body)

    def _json(self, method: str, path: str, posted: dict | None) -> tuple[int, dict] | None:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "messages"] and parts[2:] and parts[2] in LANGUAGES:
            return 200, messages(parts[2])
        if path == "/v1/register":
            return (200, self.register) if self.register else None
        if path == "/v1/me":
            return 200, self.me
        if path == "/v1/cases":
            return 200, {"items": list(self.cases.values()), "total": len(self.cases), "offset": 0, "limit": 500}
        if parts[:2] == ["v1", "cases"] and len(parts) == 4 and method == "POST":
            self.posted.append((parts[2], {"action": parts[3], **(posted or {})}))
            return 202, {"command_id": f"K{len(self.posted)}"}
        if parts[:2] == ["v1", "cases"] and len(parts) == 4 and parts[3] == "timeline":
            return 200, {"case_id": parts[2], "timeline": self.timelines.get(parts[2], [])}
        if parts[:2] == ["v1", "cases"] and len(parts) == 3 and parts[2] in self.cases:
            return 200, self.cases[parts[2]]
        if parts[:2] == ["v1", "events"] and len(parts) == 3:
            # Processed once the case's timeline holds the command, as the real worker would report it.
            done = any(event.get("data", {}).get("command_id") == parts[2] for events in self.timelines.values() for event in events)
            return 200, {"state": "processed" if done else "accepted", "reason": ""}
        return None


# Times, inside the page, each live "case" message from its arrival to the first frame drawn after the
# board's handler ran, and the first frame with every card after the snapshot's response ended.
TIMING = """
window.updateMs = [];
const addListener = EventSource.prototype.addEventListener;
EventSource.prototype.addEventListener = function (type, listener, options) {
  if (type !== "case") return addListener.call(this, type, listener, options);
  return addListener.call(this, type, (event) => {
    const started = performance.now();
    listener(event);
    requestAnimationFrame(() => setTimeout(() => window.updateMs.push(performance.now() - started)));
  }, options);
};
"""
FIRST_RENDER = """(count) => {
  const snapshot = performance.getEntriesByType("resource").find((entry) => entry.name.includes("/v1/cases?"));
  return document.querySelectorAll(".card").length >= count && snapshot && performance.now() - snapshot.responseEnd;
}"""


async def measure(open_cases: int = 500, runs: int = 3) -> dict:
    """Median time to first render and to apply one live update, in ms, over runs fresh page loads."""
    # Playwright is a test extra, not installed with the worker.
    from playwright.async_api import async_playwright

    register = canned_register()
    first, update = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for run in range(runs):
                cases = canned_cases(open_cases, register, datetime.now(UTC), seed=run)
                board = CannedBoard(cases, register, {"role": "officer:city:*", "name": "值班员"})
                page = await browser.new_page(viewport={"width": 1366, "height": 768})
                await page.add_init_script(TIMING)
                await board.install(page)
                await page.goto(f"{ORIGIN}/?token=bench")
                first.append(await (await page.wait_for_function(FIRST_RENDER, arg=open_cases, polling="raf")).json_value())
                # The last green card turns red: it is refilled, moved to the red column and counted there.
                moved = next(case for case in reversed(cases) if case["status"] == "green")
                await board.push({**moved, "version": moved["version"] + 1, "status": "red", "red_since": datetime.now(UTC).isoformat()})
                update.append(await (await page.wait_for_function("window.updateMs[0]", polling="raf")).json_value())
                await page.close()
        finally:
            await browser.close()
    return {"board_first_render_ms": round(statistics.median(first), 1), "board_update_ms": round(statistics.median(update), 1)}


def board_figures(open_cases: int = 500) -> dict:
    """The board's two figures for the bench report."""
    return asyncio.run(measure(open_cases))


if __name__ == "__main__":
    figures = board_figures(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
    print("\n".join(f"{name:<28} {value:>12}  <= 1000" for name, value in figures.items()))
