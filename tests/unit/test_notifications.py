from datetime import UTC, datetime, timedelta

from schemas.case import CaseEventType
from schemas.messages import Text
from schemas.timing import Tier
from streams.policies import load_policy
from streams.rules.cases import apply_signal, apply_tick
from streams.rules.household import HouseholdState
from streams.rules.notifications import first_line, notifications_for
from tests.factories import signal

FAST = load_policy("fast")
DEFAULT = load_policy("default")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_each_rung_of_the_ladder_is_told_in_its_own_area():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START), START, FAST)  # P2: opens at village
    notices = [n for e in outcome.events for n in notifications_for(e, FAST)]
    state = outcome.state
    for tenth in range(1, 90):
        outcome = apply_tick(state, START + timedelta(seconds=tenth / 10), FAST)
        state = outcome.state
        notices += [n for e in outcome.events for n in notifications_for(e, FAST)]
    assert [(n.kind, n.key) for n in notices] == [
        ("opened", "village:370784101201"),
        ("status_changed", "village:370784101201"),
        ("escalated", "town:370784101"),
        ("status_changed", "town:370784101"),
        ("escalated", "city:370784"),
        ("escalated", "leadership:370784"),
    ]
    assert notices[-1].recipient == "市领导" and notices[-1].tier is Tier.LEADERSHIP
    assert notices[-1].message == "【P2 紧急】370784101 370784101201 突发疾病：已超时，升级至市领导，受理时限 2026-11-22 16:00（北京时间）"
    assert len({n.notification_id for n in notices}) == len(notices)


def test_timeline_only_signals_notify_nobody():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="other"), START, FAST)
    assert notifications_for(outcome.events[0], FAST) == []


def test_a_new_case_is_told_with_place_names_its_factors_and_china_time():
    names = {"370784101": "官庄镇", "370784101201": "王家庄村"}
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="child_unattended", children=2), START, DEFAULT)
    [notice] = [n for e in outcome.events for n in notifications_for(e, DEFAULT, names.__getitem__)]
    case = outcome.state.open_case
    assert notice.message == (
        f"【P1 危急】官庄镇 王家庄村 儿童无人照料：新开案件 {case.case_id}，急难救助（2小时），"
        "评分 85（热线：儿童无人照料 +70，未成年子女 2 人 +10，抚养负担重：被抚养 2 人，劳动年龄成员 1 人 +5），"
        "受理时限 2026-11-22 16:15（北京时间）"
    )


def test_each_escalation_says_why_on_the_timeline_in_chinese_with_its_key_for_other_readers():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START), START, FAST).state
    escalations = []
    for tenth in range(1, 90):
        outcome = apply_tick(state, START + timedelta(seconds=tenth / 10), FAST)
        state = outcome.state
        escalations += [e.data for e in outcome.events if e.type is CaseEventType.ESCALATED]
    assert [(d["to"], d["reason"]) for d in escalations] == [
        ("town", "受理时限已过半"),
        ("city", "受理时限已超时"),
        ("leadership", "受理时限已超时"),
    ]
    assert Text(escalations[0]["reason_key"], escalations[0]["reason_params"]).render("en") == "half the acknowledge time gone"


def test_a_notice_quotes_the_first_line_of_the_callers_words():
    words = "7岁男孩独自在家两天，邻居听见哭声\n父亲在外地打工，电话打不通"
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="child_unattended", description=words), START, DEFAULT)
    [notice] = [n for e in outcome.events for n in notifications_for(e, DEFAULT)]
    assert notice.message.endswith("。来电原话：“7岁男孩独自在家两天，邻居听见哭声”")
    long_words = "邻" * 60
    assert first_line(long_words) == "邻" * 39 + "…"
