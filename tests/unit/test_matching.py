"""Possibly the same person: a place, a time and a name or an age must agree; any disagreement rules it out."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from schemas.case import CaseCommand, SubjectView
from streams.policies import load_policy
from streams.rules.cases import apply_signal
from streams.rules.household import HouseholdState
from streams.rules.matching import Sighting, apply_match_command, possible_match, similar_names, why_same
from tests.factories import signal

DEFAULT = load_policy("default")
POLICY = DEFAULT.matching
T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
OPEN = Sighting("C1", "HH-1", "王小明", "male", 8, "370784101", "370784101201", T0)
NEW = Sighting("C2", "U-2", "小明", "male", 7, "370784101", "370784101201", T0 + timedelta(hours=5))


def codes(new: Sighting, other: Sighting = OPEN) -> list[str]:
    return [fact.code for fact in why_same(new, other, POLICY)]


def test_names_alike_when_equal_contained_or_sharing_surname_and_a_given_character():
    assert similar_names("王小明", "王小明") and similar_names("小明", "王小明") and similar_names("王晓明", "王小明")
    assert not similar_names("李小明红", "王大伟") and not similar_names("王大伟", "王小明") and not similar_names("", "王小明")


def test_a_child_called_by_given_name_in_the_same_village_matches_with_all_its_reasons():
    assert codes(NEW) == ["match.same_village", "match.name", "match.age", "match.sex"]
    assert why_same(NEW, OPEN, POLICY)[1].params == {"name": "小明", "other": "王小明"}


def test_any_disagreement_rules_a_match_out():
    assert codes(replace(NEW, sex="female")) == []
    assert codes(replace(NEW, age=12)) == []
    assert codes(replace(NEW, name="李强")) == []
    assert codes(replace(NEW, town="370784102", village="370784102201")) == []
    assert codes(replace(NEW, opened_at=T0 + timedelta(hours=73))) == []
    assert codes(replace(NEW, case_id="C1")) == [] and codes(replace(NEW, household_id="HH-1")) == []


def test_without_a_name_only_an_age_in_the_same_village_is_evidence():
    nameless = replace(NEW, name="")
    assert codes(nameless) == ["match.same_village", "match.age", "match.sex"]
    assert codes(replace(nameless, village="370784101202")) == []
    assert codes(replace(nameless, age=None)) == []


def test_same_town_with_a_similar_name_is_enough_and_unknown_age_or_sex_does_not_rule_out():
    elsewhere = replace(NEW, village="370784101202", age=None, sex=None)
    assert codes(elsewhere) == ["match.same_town", "match.name"]


def cases_pair() -> tuple[HouseholdState, HouseholdState]:
    """A verified child 王小明 (8) with an open case, and a call about a boy called 小明, about 7, nobody could identify."""
    known = signal(T0, event_id="k1", kind="child_unattended", household_id="HH-1", age=8).model_copy(
        update={"subject": SubjectView(id_masked="3707**********0012", name="王小明")}
    )
    unknown = signal(T0 + timedelta(hours=2), event_id="u1", kind="child_unattended", household_id="U-1", age=7).model_copy(
        update={"subject": SubjectView(name="小明", sex="male", approximate_age=7, description="蓝色外套")}
    )
    return (
        apply_signal(HouseholdState(household_id="HH-1"), known, T0, DEFAULT).state,
        apply_signal(HouseholdState(household_id="U-1"), unknown, unknown.received_at, DEFAULT).state,
    )


def shown(state: HouseholdState, other: HouseholdState) -> CaseCommand:
    match = possible_match(state.open_case, other.open_case, POLICY)
    return CaseCommand(type="possible_match", household_id=state.household_id, case_id=state.open_case.case_id,
                       issued_at=T0, actor="system:matcher", command_id="m1", match=match)  # fmt: skip


def test_a_possible_match_is_shown_once_on_the_case_and_an_officer_dismisses_it_by_name():
    known, unknown = cases_pair()
    assert [f.code for f in possible_match(unknown.open_case, known.open_case, POLICY).reasons] == [
        "match.same_village", "match.name", "match.age", "match.sex",
    ]  # fmt: skip
    outcome = apply_match_command(unknown, shown(unknown, known), T0)
    assert [e.type for e in outcome.events] == ["possible_match"]
    (match,) = outcome.state.open_case.possible_matches
    assert (match.case_id, match.name, match.status) == (known.open_case.case_id, "王小明", "open")
    assert apply_match_command(outcome.state, shown(unknown, known), T0).events == []  # a replay lists nothing twice
    dismiss = CaseCommand(type="dismiss_match", household_id="U-1", case_id=unknown.open_case.case_id, issued_at=T0,
                          actor="officer:village:370784101201", actor_name="王芳", command_id="d1", match=match)  # fmt: skip
    dismissed = apply_match_command(outcome.state, dismiss, T0)
    (event,) = dismissed.events
    assert (event.type, event.actor_name, event.event_id) == ("match_dismissed", "王芳", "d1")
    assert dismissed.state.open_case.possible_matches[0].status == "dismissed"
    assert dismissed.state.open_case.possible_matches[0].decided_by == "王芳"
    again = apply_match_command(dismissed.state, dismiss, T0)
    assert [(e.type, e.data["reason_key"]) for e in again.events] == [("command_rejected", "refusal.no_such_match")]
