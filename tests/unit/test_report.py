"""The monthly report: facts from hand-made case events (as the log holds them), counted per town and period."""

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import orjson

from api.routes.reports import as_csv
from streams.rules.report import fact_of, figures, months_of, period_of, placed, rows, unplaced

T0 = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)  # 09:00 in China
TOWN, OTHER = "370784101", "370784102"


def iso(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def case_event(kind, case_id, version, at, data=None, *, town=TOWN, priority="P1", track="emergency", tier="village", **case):
    """A case event as the log holds it: its case snapshot carries what the report reads."""
    snapshot = {
        "case_id": case_id,
        "area": {"town": town, "village": town + "201"},
        "priority": priority,
        "track": track,
        "tier": tier,
        "opened_at": iso(0),
        "deadlines": {},
        "referrals": [],
        **case,
    }
    return {"type": kind, "household_id": "H-" + case_id, "case_id": case_id, "version": version, "at": at, "data": data or {}}, snapshot


def event(kind, case_id, version, at, data=None, **case):
    made, snapshot = case_event(kind, case_id, version, at, data, **case)
    return {**made, "case": snapshot, "event_id": None}


def household_event(kind, at, data, town=TOWN, event_id=None):
    view = {"area": {"town": town, "village": town + "201"}} if town else None
    return {"type": kind, "household_id": "H9", "case_id": None, "version": 0, "at": at, "data": data, "case": None,
            "event_id": event_id, "household": view}  # fmt: skip


def deadline(due: float, met: float | None) -> dict:
    return {"started_at": iso(0), "due_at": iso(due), "met_at": None if met is None else iso(met)}


def aided(case_id, version, at, aid_due=120, town=TOWN, ack_met=None):
    ack_met = at if ack_met is None else ack_met
    deadlines = {"acknowledge": deadline(15, ack_met), "aid": deadline(aid_due, at)}
    return event("aid_delivered", case_id, version, iso(at), {}, town=town, deadlines=deadlines)


def month_events() -> list[dict]:
    """One month of a town (and a little of another): every kind of event the report counts, and some it does not."""
    referral = {"referral_id": "R1", "answered_at": iso(50)}
    return [
        # A: P1 emergency by hotline, acknowledged at 10 min, aided at 60 (in time), closed.
        event("opened", "A", 1, iso(0), {"source": "hotline"}),
        event("acknowledged", "A", 2, iso(10), deadlines={"acknowledge": deadline(15, 10)}),
        aided("A", 3, 60, ack_met=10),
        event("closed", "A", 4, iso(90)),
        # B: P2 emergency from a hospital, assigned at 20 (its first response), aided at 150 (late), goes red first.
        event("opened", "B", 1, iso(0), {"source": "hospital"}, priority="P2"),
        event("assigned", "B", 2, iso(20), deadlines={"acknowledge": deadline(30, 20)}, priority="P2"),
        event("status_changed", "B", 3, iso(120), {"from": "yellow", "to": "red", "deadline": "aid"}, priority="P2", tier="town"),
        event("escalated", "B", 4, iso(120), {"from": "town", "to": "city"}, priority="P2", tier="city"),
        aided("B", 5, 150, ack_met=20),
        event("signal_attached", "B", 6, iso(160), {"source": "department"}, priority="P2"),
        # C: a P3 standard lead from a department, raised to emergency, never aided; a yellow change is no breach.
        event("opened", "C", 1, iso(0), {"source": "department"}, priority="P3", track="standard"),
        event("status_changed", "C", 2, iso(30), {"from": "green", "to": "yellow", "deadline": "acknowledge"}, track="standard"),
        event("rescored", "C", 3, iso(40), {}, priority="P2", track="emergency"),
        event("escalated", "C", 4, iso(41), {"from": "village", "to": "town"}),
        # Referrals on A: one declined in time, one accepted late then delivered in time, one accepted and not yet delivered.
        event("referral_declined", "A", 5, iso(45), {"referral_id": "R0", "partner": "p", "reason": "no", "on_time": True}),
        event("referral_accepted", "A", 6, iso(50), {"referral_id": "R1", "partner": "p", "on_time": False}),
        event(
            "referral_delivered",
            "A",
            7,
            iso(70),
            {"referral_id": "R1", "partner": "p", "report": "ok", "on_time": True},
            referrals=[referral],
        ),
        event("referral_accepted", "A", 8, iso(80), {"referral_id": "R2", "partner": "p", "on_time": True}),
        # Ratings, and a reopening after the dissatisfied one.
        event("satisfaction_recorded", "A", 9, iso(100), {"visit_id": "V1", "rating": "satisfied", "text": "", "on_time": True}),
        event("satisfaction_recorded", "B", 7, iso(200), {"visit_id": "V2", "rating": "dissatisfied", "text": "", "on_time": True}),
        event("reopened", "B", 8, iso(200), {"reason": "dissatisfied", "text": "", "supervised": True}, priority="P2"),
        event("satisfaction_recorded", "C", 5, iso(300), {"visit_id": "V3", "rating": "basically_satisfied", "on_time": False}),
        event("note_added", "A", 10, iso(301), {"text": "noted"}),
        # A household's own: a recorded signal, a follow-up done in time, a watch visit done late that had gone red.
        household_event("signal_recorded", iso(5), {"source": "hotline"}, event_id="E1"),
        household_event("signal_recorded", iso(6), {"source": "visit"}, event_id="V1:more-help"),  # a visitor's "more help"
        household_event(
            "visit_recorded",
            iso(400),
            {
                "visit_id": "F1",
                "kind": "follow_up",
                "case_id": "A",
                "due_at": iso(500),
                "done_at": iso(400),
                "on_time": True,
                "found": "",
                "more_help": False,
            },
        ),
        household_event(
            "visit_status_changed",
            iso(600),
            {"visit_id": "W1", "kind": "watch", "from": "yellow", "to": "red"},
        ),
        household_event("visit_escalated", iso(601), {"visit_id": "W1", "kind": "watch", "from": "village", "to": "town"}, town=None),
        household_event(
            "visit_recorded",
            iso(700),
            {
                "visit_id": "W1",
                "kind": "watch",
                "case_id": None,
                "due_at": iso(500),
                "done_at": iso(700),
                "on_time": False,
                "found": "",
                "more_help": True,
            },
        ),
        # Another town's case: counted in the county, not in the town.
        event("opened", "D", 1, iso(0), {"source": "hotline"}, town=OTHER),
        aided("D", 2, 30, town=OTHER),
    ]


def store(events) -> dict[str, dict[str, bytes]]:
    """What the projection writes: month → field → fact (JSON), one HSET an event."""
    hashes: dict[str, dict[str, bytes]] = {}
    for one in events:
        found = fact_of(orjson.loads(orjson.dumps(one)))
        if found:
            month, field, fact = found
            hashes.setdefault(month, {})[field] = orjson.dumps(fact)
    return hashes


def report(hashes, period="2026-11", town=None) -> dict:
    return figures([orjson.loads(v) for month in months_of(period) for v in hashes.get(month, {}).values()], town)


def test_every_figure_of_a_town_counts_what_its_docstring_says():
    town = report(store(month_events()), town=TOWN)
    assert town["events_by_source"] == {"hotline": 2, "hospital": 1, "department": 2, "visit": 1} and town["events_total"] == 6
    assert town["cases_opened"] == {
        "total": 3,
        "by_priority": {"P1": 1, "P2": 1, "P3": 1},
        "by_track": {"emergency": 2, "standard": 1},
    }
    assert town["emergency_aid"] == {"cases": 3, "aided_on_time": 1, "share": 0.3333}  # A in time, B late, C (raised) never
    assert town["time_to_acknowledge"] == {"count": 2, "median": 15.0, "p90": 20.0}
    assert town["time_to_aid"] == {"count": 2, "median": 105.0, "p90": 150.0}
    assert town["breaches"] == {"total": 2, "by_tier": {"village": 1, "town": 1, "city": 0, "leadership": 0}}
    assert town["escalations"] == {"total": 2, "by_tier": {"town": 1, "city": 1, "leadership": 0}}  # the visit's has no town
    assert town["referrals"] == {
        "answered": 3,
        "accepted": 2,
        "declined": 1,
        "accepted_on_time": 1,
        "accepted_on_time_share": 0.3333,
        "delivered_on_time": 1,
        "delivered_on_time_share": 0.5,
    }
    assert town["visits"]["follow_up"] == {"done": 1, "on_time": 1, "on_time_share": 1.0}
    assert town["visits"]["watch"] == {"done": 1, "on_time": 0, "on_time_share": 0.0}
    assert town["visits"]["callback"] == {"done": 3, "on_time": 2, "on_time_share": 0.6667}  # the ratings recorded
    assert figures([])["visits"]["callback"] == {"done": 0, "on_time": 0, "on_time_share": None}
    assert town["satisfaction"] == {
        "ratings": 3,
        "by_rating": {"satisfied": 1, "basically_satisfied": 1, "dissatisfied": 1},
        "rate": 0.6667,
    }
    assert (town["cases_closed"], town["cases_reopened"], town["reopened_dissatisfied"]) == (1, 1, 1)


def test_the_county_counts_every_town_and_the_events_of_no_known_town():
    hashes = store(month_events())
    county, other = report(hashes), report(hashes, town=OTHER)
    assert county["cases_opened"]["total"] == 4 and other["cases_opened"]["total"] == 1
    assert county["escalations"]["total"] == 3 and other["escalations"]["total"] == 0
    assert county["emergency_aid"] == {"cases": 4, "aided_on_time": 2, "share": 0.5}
    assert other["time_to_acknowledge"] == {"count": 1, "median": 30.0, "p90": 30.0}


def test_a_visit_event_without_the_household_view_counts_in_its_households_town_once_placed():
    facts = [orjson.loads(v) for v in store(month_events())["2026-11"].values()]
    assert unplaced(facts) == {"H9"}
    town = figures(placed(facts, {"H9": TOWN}), TOWN)
    assert town["escalations"] == {"total": 3, "by_tier": {"town": 2, "city": 1, "leadership": 0}}
    assert figures(placed(facts, {}), TOWN)["escalations"]["total"] == 2  # a household the read model does not know


def test_an_event_of_no_case_counts_in_the_town_it_names_without_a_household_view():
    recorded = {**household_event("signal_recorded", iso(5), {"source": "department"}, town=None, event_id="e7"), "area": {"town": OTHER}}
    assert fact_of(recorded)[2]["town"] == OTHER


def test_the_same_events_twice_or_in_another_order_give_the_same_facts_and_figures():
    events = month_events()
    once = store(events)
    for seed in range(5):
        shuffled = events * 2
        random.Random(seed).shuffle(shuffled)
        assert store(shuffled) == once
    assert report(store(events[::-1])) == report(once)


def test_a_case_counts_in_the_month_it_opened_and_a_step_in_the_month_it_happened_in_china_time():
    late = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 23:30 on 30 November in China
    opened_at = late.isoformat()
    after = (late + timedelta(minutes=60)).isoformat()  # 00:30 on 1 December in China
    deadlines = {"acknowledge": {"started_at": opened_at, "due_at": after, "met_at": after}, "aid": {"started_at": opened_at,
                 "due_at": after, "met_at": after}}  # fmt: skip
    hashes = store(
        [
            event("opened", "X", 1, opened_at, {"source": "hotline"}, opened_at=opened_at),
            event("aid_delivered", "X", 2, after, {}, opened_at=opened_at, deadlines=deadlines),
            event("closed", "X", 3, after, {}, opened_at=opened_at),
        ]
    )
    november, december = report(hashes, "2026-11"), report(hashes, "2026-12")
    assert november["cases_opened"]["total"] == 1 and november["time_to_aid"]["median"] == 60.0
    assert november["emergency_aid"]["aided_on_time"] == 1 and november["cases_closed"] == 0
    assert december["cases_opened"]["total"] == 0 and december["cases_closed"] == 1
    assert report(hashes, "2026-Q4")["cases_closed"] == 1 and report(hashes, "2026-Q4")["cases_opened"]["total"] == 1


def test_periods_are_months_or_quarters_and_nothing_else():
    assert months_of("2026-11") == ["2026-11"]
    assert months_of("2026-Q4") == ["2026-10", "2026-11", "2026-12"] and months_of("2027-Q1") == ["2027-01", "2027-02", "2027-03"]
    assert [months_of(bad) for bad in ("2026-13", "2026-Q5", "2026-1", "26-11", "2026-11 ", "")] == [None] * 6
    assert period_of(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == ("2027-01", "2027-Q1")


def test_an_empty_period_has_zero_counts_and_no_rates():
    empty = figures([])
    assert empty["events_total"] == 0 and empty["emergency_aid"]["share"] is None and empty["satisfaction"]["rate"] is None
    assert empty["time_to_aid"] == {"count": 0, "median": None, "p90": None}
    assert ("cases_opened.by_priority.P1", 0) in rows(empty) and ("satisfaction.rate", None) in rows(empty)


def test_the_csv_has_a_bom_chinese_headers_first_a_column_an_area_and_shares_as_percentages():
    hashes = store(month_events())
    answer = {
        "area": {"name": "安丘市"},
        "figures": report(hashes),
        "towns": [{"name": "景芝镇", "figures": report(hashes, town=TOWN)}, {"name": "其他镇", "figures": report(hashes, town=OTHER)}],
    }
    text = as_csv(answer, "zh-CN")
    assert text.startswith("\ufeff指标,代码,安丘市,景芝镇,其他镇\r\n")
    table = {row[1]: row for row in csv.reader(io.StringIO(text.removeprefix("\ufeff")))}
    assert table["cases_opened.total"] == ["立案合计", "cases_opened.total", "4", "3", "1"]
    assert table["emergency_aid.share"] == ["急难案件 2 小时内救助到位率", "emergency_aid.share", "50.0%", "33.3%", "100.0%"]
    assert table["satisfaction.rate"][2:] == ["66.7%", "66.7%", ""]  # no ratings in the other town: nothing to divide
    assert len(table) == len(rows(answer["figures"])) + 1
    assert as_csv(answer, "en").startswith("\ufeffFigure,Code,安丘市")
