"""Possibly the same person: a place, a time and a name or an age must agree; any disagreement rules it out."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from streams.policies import load_policy
from streams.rules.matching import Sighting, similar_names, why_same

POLICY = load_policy("default").matching
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
