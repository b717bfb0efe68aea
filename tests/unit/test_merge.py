"""Handing a household over, taking it over, forwarding what still arrives, and two open cases becoming one."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from pydantic import ValidationError

from schemas import topics
from schemas.case import CaseCommand, CaseEventType, Priority, SubjectView
from schemas.departments import load_departments
from schemas.register import load_register
from schemas.timing import Deadline, Tier
from streams.policies import load_policy
from streams.rules.cases import apply_signal, apply_tick
from streams.rules.household import HouseholdState, Member, merge_households
from streams.rules.merge import (
    apply_move,
    forwarding,
    hand_over,
    merge_cases,
    merge_deadlines,
    take_over,
    take_over_id,
)
from streams.rules.normalise import (
    household_of_person,
    identification_hand_over,
    is_unidentified,
    parse_input,
    person_key_of,
    pseudonym,
    signal_from_event,
)
from streams.rules.workflow import apply_command
from tests.factories import admission_body, call_body, change_body, hospital_signal, id_number, signal

POLICY = load_policy("default")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SECRET = b"test"
DEPARTMENTS = load_departments("bundled")
REGISTER = load_register()
CHILD = id_number(801, "20190301")
VERIFIED = SubjectView(id_masked="3707**********0012", name="王小明")


def unidentified_call(event_id: str = "call-u1", **subject) -> dict:
    described = {"sex": "male", "approximate_age": 7, "description": "穿蓝色外套，独自在家两天"} | subject
    return call_body(event_id=event_id, category="child_unattended", subject=described, flags={})


def unidentified_signal(event_id: str = "call-u1", at: datetime = START):
    call = parse_input(topics.HOTLINE_CALLS, orjson.dumps(unidentified_call(event_id)), DEPARTMENTS, REGISTER)
    person_key = person_key_of(call, event_id, SECRET)
    return signal_from_event(call, household_of_person(person_key), event_id, at, SECRET)


def opened(household: str, *signals) -> HouseholdState:
    state = HouseholdState(household_id=household)
    for s in signals:
        state = apply_signal(state, s, s.received_at, POLICY).state
    return state


def identify(state: HouseholdState, target: str, at: datetime, command_id: str = "ident-1") -> CaseCommand:
    return CaseCommand(
        type="hand_over",
        household_id=state.household_id,
        issued_at=at,
        actor="officer:village:370784101201",
        actor_name="王芳",
        command_id=command_id,
        case_id=state.open_case.case_id,
        target_household_id=target,
        subject=VERIFIED,
        subject_age=7,
        person_key="person-child",
    )


def registry(household: str, target: str, at: datetime, command_id: str = "registry:reg-1") -> CaseCommand:
    return CaseCommand(
        type="hand_over", household_id=household, issued_at=at, actor="system:intake", command_id=command_id, target_household_id=target
    )


def test_an_unidentified_subject_needs_a_description_and_departments_need_an_id_number():
    signal_ = unidentified_signal()
    assert signal_.household_id.startswith("U") and is_unidentified(signal_.person_key)
    assert signal_.subject.id_masked is None and signal_.subject_age == 7 and signal_.subject.sex == "male"
    # Deterministic from the event id, never from a name.
    assert unidentified_signal().person_key == signal_.person_key != unidentified_signal("call-u2").person_key
    for missing, field in (("sex", "subject.sex"), ("approximate_age", "subject.approximate_age"), ("description", "subject.description")):
        body = unidentified_call()
        del body["subject"][missing]
        with pytest.raises(Exception) as refused:
            parse_input(topics.HOTLINE_CALLS, orjson.dumps(body), DEPARTMENTS, REGISTER)
        assert refused.value.field == field and "身份证号不详时必填" in refused.value.reason
    # An ID number that fails its own check is the only error reported for it.
    with pytest.raises(Exception) as refused:
        parse_input(topics.HOTLINE_CALLS, orjson.dumps(call_body(subject={"id_number": CHILD[:-1] + "0"})), DEPARTMENTS, REGISTER)
    assert refused.value.field == "subject.id_number"
    with pytest.raises(Exception) as refused:
        parse_input(topics.HOTLINE_CALLS, orjson.dumps(call_body(subject={"id_number": CHILD})), DEPARTMENTS, REGISTER)
    assert refused.value.field == "subject.name"
    admission = parse_input(
        topics.HOSPITAL_ADMISSIONS,
        orjson.dumps(admission_body(subject={"sex": "female", "approximate_age": 50, "description": "昏迷"})),
        DEPARTMENTS,
        REGISTER,
    )
    assert admission.subject.id_number is None
    with pytest.raises(Exception) as refused:
        parse_input(
            topics.DEPARTMENT_CHANGES,
            orjson.dumps(change_body("employment.lost", "human-resources", subject={"name": "x"})),
            DEPARTMENTS,
            REGISTER,
        )
    assert refused.value.field == "subject.id_number"


def test_an_unidentified_child_opens_an_unverified_emergency_case_counted_as_a_child():
    state = opened("U1", unidentified_signal())
    case = state.open_case
    assert case.identity_verified is False and "identify" in case.allowed_actions
    assert case.priority in (Priority.P1, Priority.P2) and case.track == "emergency"
    assert "household:children" in [f.code for f in case.factors]


def test_identifying_into_a_household_without_a_case_keeps_the_case_id_and_its_version_going_on():
    source = opened("U1", unidentified_signal())
    case = source.open_case
    given = hand_over(source, identify(source, "PTARGET", START + timedelta(minutes=5)), START + timedelta(minutes=5))
    assert [e.type for e in given.events] == [CaseEventType.HANDED_OVER]
    handed = given.events[0].case
    assert handed.version == case.version + 1 and handed.identity_verified and handed.subject.name == "王小明"
    assert given.state.moved_to == "PTARGET" and given.state.open_case is None and given.state.members == {}
    (command,) = given.commands
    assert command.type == "take_over" and command.household_id == "PTARGET" and command.command_id == take_over_id("ident-1")
    moved = HouseholdState.model_validate(command.moved)
    assert set(moved.members) == {"person-child"} and moved.members["person-child"].age == 7
    taken = take_over(HouseholdState(household_id="PTARGET"), command, START + timedelta(minutes=5))
    (adopted,) = taken.events
    assert adopted.type is CaseEventType.TAKEN_OVER and adopted.household_id == "PTARGET" and adopted.data["from"] == "U1"
    assert taken.state.open_case.case_id == case.case_id and taken.state.open_case.version == case.version + 2
    assert taken.state.open_case.household_id == "PTARGET" and taken.state.open_case.identity_verified
    assert case.signal_ids[0] in taken.state.seen_event_ids
    # A replayed take_over is dropped as seen; a replayed hand_over, too.
    assert take_over(taken.state, command, START + timedelta(minutes=6)).events == []
    again = hand_over(given.state, identify(source, "PTARGET", START), START + timedelta(minutes=7))
    assert again.events == [] and again.commands == []
    # A second identification (another id) of a household that moved is refused on the record.
    other = hand_over(given.state, identify(source, "POTHER", START, command_id="ident-2"), START + timedelta(minutes=7))
    assert [e.type for e in other.events] == [CaseEventType.COMMAND_REJECTED] and other.events[0].data[
        "reason_key"
    ] == "refusal.household_moved"


def test_identifying_an_identified_case_is_refused():
    source = opened("U1", unidentified_signal())
    given = hand_over(source, identify(source, "PTARGET", START), START)
    verified = given.events[0].case
    source = source.model_copy(update={"open_case": verified})
    refused = hand_over(source, identify(source, "PTARGET", START, command_id="ident-3"), START)
    assert refused.events[0].data["reason_key"] == "refusal.already_verified" and refused.state.moved_to is None


def test_the_older_open_case_absorbs_the_newer_with_everything_tightened_never_loosened():
    # The registry household has a P3 lead opened first; the unidentified child's emergency call comes later.
    target = opened("HH-1", signal(START, event_id="income-1", kind="loss_of_income", person_key="sibling", caller_key="c5"))
    lead = target.open_case
    assert lead.track == "standard"
    later = START + timedelta(minutes=20)
    source = opened("U1", unidentified_signal(at=later))
    child = source.open_case
    at = later + timedelta(minutes=1)
    given = hand_over(source, identify(source, "HH-1", at), at)
    taken = take_over(target, given.commands[0], at)
    assert [e.type for e in taken.events] == [CaseEventType.MERGED_INTO, CaseEventType.MERGED]
    absorbed, survivor = (e.case for e in taken.events)
    assert survivor.case_id == lead.case_id and absorbed.case_id == child.case_id
    assert absorbed.merged_into == lead.case_id and absorbed.status == "closed" and absorbed.household_id == "HH-1"
    assert absorbed.allowed_actions == []
    assert survivor.priority == child.priority and survivor.track == "emergency" and survivor.urgency == child.urgency
    assert survivor.tier == max(lead.tier, child.tier, key=list(Tier).index)
    assert survivor.deadlines["acknowledge"].due_at == min(lead.deadlines["acknowledge"].due_at, child.deadlines["acknowledge"].due_at)
    assert survivor.deadlines["aid"] == child.deadlines["aid"] and survivor.deadlines["complete"] == lead.deadlines["complete"]
    assert survivor.signal_ids == [*lead.signal_ids, *child.signal_ids] and survivor.reports_total == 2
    assert [r.event_id for r in survivor.reports] == ["income-1", "call-u1"]
    assert taken.events[1].data["absorbed"] == child.case_id and taken.events[1].data["absorbed_from"] == child.household_id
    assert survivor.version == lead.version + 1 and absorbed.version == child.version + 2
    assert taken.state.open_case == survivor and absorbed in taken.state.closed_cases
    assert set(taken.state.members) == {"sibling", "person-child"}
    # The household counts the child now: a further signal is scored with it.
    assert "household:children" in [
        f.code for f in apply_signal(taken.state, signal(at, event_id="e9"), at, POLICY).state.open_case.factors
    ]
    # Commands for the absorbed case are refused with the reason; the survivor takes them.
    note = CaseCommand(type="note", household_id="HH-1", issued_at=at, actor="officer", case_id=child.case_id, text="x", command_id="n1")
    refused = apply_command(taken.state, note, at, POLICY)
    assert refused.events[0].data["reason_key"] == "refusal.case_merged" and refused.events[0].data["reason_params"]["into"] == lead.case_id


def test_when_the_incoming_case_is_older_it_survives_in_the_target_household():
    source = opened("PX", hospital_signal(START, "adm-1"))
    older = source.open_case
    later = START + timedelta(hours=1)
    target = opened("HH-2", signal(later, event_id="call-2", kind="no_food_or_shelter", person_key="other", caller_key="c2"))
    taken = take_over(target, hand_over(source, registry("PX", "HH-2", later), later).commands[0], later)
    absorbed, survivor = (e.case for e in taken.events)
    assert survivor.case_id == older.case_id and survivor.household_id == "HH-2" and absorbed.merged_into == older.case_id
    assert survivor.opened_at == older.opened_at


def test_merging_deadlines_takes_the_earlier_due_and_keeps_what_was_met():
    due = lambda minutes, met=None: Deadline(started_at=START, due_at=START + timedelta(minutes=minutes), met_at=met)  # noqa: E731
    kept = {"acknowledge": due(60, met=START), "aid": due(120), "complete": due(900)}
    other = {"acknowledge": due(15), "aid": due(100), "paperwork": due(5000)}
    merged = merge_deadlines(kept, other)
    assert merged["acknowledge"].met_at == START and merged["aid"].due_at == START + timedelta(minutes=100)
    assert merged["complete"] == kept["complete"] and merged["paperwork"] == other["paperwork"]
    assert merge_deadlines(other, kept)["aid"].due_at == START + timedelta(minutes=100)


def test_the_worse_colour_and_the_earlier_red_survive_a_merge():
    red = opened("A", signal(START, event_id="a1")).open_case.model_copy(update={"status": "red", "red_since": START})
    green = opened("B", signal(START + timedelta(minutes=5), event_id="b1", caller_key="c9")).open_case
    survivor, absorbed, _ = merge_cases(green, red, "B", START + timedelta(minutes=6), "system:triage", "x")
    assert survivor.status == "red" and survivor.red_since == START and absorbed.red_since is None


def test_a_household_that_moved_forwards_signals_and_commands_and_drops_its_deadline_ticks():
    moved = HouseholdState(household_id="PX", moved_to="HH-3")
    late = signal(START, event_id="late-1", household_id="PX")
    (forwarded,) = forwarding(moved, late).signals
    assert forwarded.household_id == "HH-3" and forwarded.event_id == "late-1"
    command = CaseCommand(type="acknowledge", household_id="PX", issued_at=START, actor="officer", case_id="C1", command_id="k1")
    (passed,) = forwarding(moved, command).commands
    assert passed.household_id == "HH-3" and passed.command_id == "k1"
    tick = CaseCommand(type="deadline_due", household_id="PX", issued_at=START, actor="system:deadlines")
    dropped = forwarding(moved, tick)
    assert dropped.signals == dropped.commands == [] and dropped.events == []
    assert forwarding(HouseholdState(household_id="PX"), late) is None
    assert forwarding(moved, registry("PX", "HH-4", START)) is None


def test_a_registry_link_moves_the_persons_own_household_with_its_closed_cases_and_facts():
    source = opened("PX", hospital_signal(START, "adm-1"))
    closing = CaseCommand(
        type="close",
        household_id="PX",
        issued_at=START,
        actor="officer",
        case_id=source.open_case.case_id,
        outcome={"aid_type": "referral", "referral": "医保"},
        command_id="close-1",
    )
    source = apply_command(source, closing, START, POLICY).state
    given = hand_over(source, registry("PX", "HH-5", START), START)
    taken = take_over(HouseholdState(household_id="HH-5"), given.commands[0], START)
    (moved,) = taken.state.closed_cases
    assert moved.household_id == "HH-5" and [e.type for e in taken.events] == [CaseEventType.TAKEN_OVER]
    assert taken.state.open_case is None and taken.state.recent[0].handled
    # The closed case's signal opens nothing again in its new household.
    assert apply_signal(taken.state, hospital_signal(START, "adm-1"), START, POLICY).events == []


def test_an_empty_household_moves_without_a_take_over_and_a_moved_household_has_no_clock():
    given = hand_over(HouseholdState(household_id="PX"), registry("PX", "HH-6", START), START)
    assert given.events == [] and given.commands == [] and given.state.moved_to == "HH-6"
    assert apply_tick(given.state, START, POLICY).events == []


def test_merging_household_facts_joins_members_and_never_forgets():
    kept = HouseholdState(household_id="H", members={"a": Member(age=40, registered=True)}, programme="lowincome", seen_event_ids=["1"])
    moved = HouseholdState(household_id="P", members={"a": Member(age=40, employed=False), "b": Member(age=7)}, seen_event_ids=["1", "2"])
    merged = merge_households(kept, moved)
    assert merged.members["a"] == Member(age=40, registered=True, employed=False) and merged.members["b"].age == 7
    assert merged.programme == "lowincome" and merged.seen_event_ids == ["1", "2"] and merged.household_id == "H"


def test_an_identification_becomes_a_hand_over_with_no_id_number_in_clear():
    from schemas.intake import Identification

    identification = Identification(
        identification_id="ident-9",
        case_id="C0123456789AB",
        household_id="U1",
        id_number=CHILD,
        requested_at=START,
        actor="officer:city:*",
    )
    command = identification_hand_over(identification, "PTARGET", START, SECRET)
    assert CHILD not in command.model_dump_json() and command.person_key == pseudonym(CHILD, SECRET)
    assert (command.household_id, command.target_household_id, command.command_id, command.subject_age) == ("U1", "PTARGET", "ident-9", 7)
    with pytest.raises(ValidationError):
        Identification.model_validate({**identification.model_dump(), "id_number": CHILD[:-1] + "0"})


def test_the_identifying_officer_is_named_on_the_events_of_the_move():
    source = opened("U1", unidentified_signal())
    given = apply_move(source, identify(source, "PTARGET", START), START)
    assert given.events[0].actor_name == "王芳" and given.commands[0].actor_name == "王芳"
    assert apply_move(HouseholdState(household_id="PTARGET"), given.commands[0], START).events[0].actor_name == "王芳"


def test_moves_ride_on_aid_signals_told_apart_from_signals_by_their_type():
    from streams.rules.merge import signal_or_command

    move = registry("PX", "HH-7", START)
    assert signal_or_command(orjson.loads(move.model_dump_json())).type == "hand_over"
    plain = signal(START, event_id="s-1")
    assert signal_or_command(orjson.loads(plain.model_dump_json())) == plain
    with pytest.raises(ValidationError):
        signal_or_command({**orjson.loads(move.model_dump_json()), "type": "acknowledge"})
