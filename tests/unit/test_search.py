from schemas.household import HouseholdView, MemberView
from streams.rules.normalise import pseudonym
from streams.rules.search import GRAM_MAX, household_tokens, looks_like_id_number, lookups, matched_members, name_tokens, phone_variants
from tests.factories import id_number

SECRET = b"test-secret"


def test_a_name_is_found_whole_by_its_beginnings_by_parts_and_by_initials():
    tokens = name_tokens("王小明")
    assert {"n:王小明", "p:王", "p:王小", "s:小明", "i:wxm", "i:wx", "i:xm"} <= tokens
    assert "s:小" not in tokens and "i:w" not in tokens  # one given-name character or one letter finds too many to help


def test_a_surname_with_several_readings_is_found_by_each():
    tokens = name_tokens("单小明")
    assert {"i:sxm", "i:dxm"} <= tokens


def test_names_are_folded_for_width_case_and_spaces():
    assert name_tokens("王 小明") == name_tokens("王小明")
    assert "n:johnsmith" in name_tokens("John  SMITH")
    assert not any(t.startswith("i:") for t in name_tokens("John Smith"))  # initials only of Chinese names


def test_a_long_name_is_indexed_in_parts_no_longer_than_the_gram():
    name = "阿卜杜拉·买买提·艾力江"
    tokens = name_tokens(name)
    assert f"n:{name}" in tokens
    assert max(len(t) - 2 for t in tokens if not t.startswith("n:")) == GRAM_MAX


def test_a_household_is_indexed_by_member_names_person_keys_and_caller_phones():
    view = HouseholdView(
        household_id="H1",
        version=1,
        members=[MemberView(person_key="pk1", name="李四", age=40), MemberView(person_key="pk2", name="李小红", age=9)],
        caller_keys=["ck1"],
    )
    tokens = household_tokens(view.model_dump(mode="json"))
    assert {"k:pk1", "k:pk2", "c:ck1", "n:李四", "n:李小红", "p:李"} <= set(tokens)
    assert tokens == sorted(set(tokens))


def test_an_id_number_is_looked_up_only_by_its_keyed_hash():
    number = id_number(7)
    (first, *_) = lookups(f" {number.lower()} ", SECRET)
    assert (first.value, first.match, first.tier) == (f"k:{pseudonym(number, SECRET)}", "id_number", 0)
    assert all(number not in lookup.value for lookup in lookups(number, SECRET) if lookup.kind == "token")


def test_a_mobile_number_is_looked_up_as_callers_may_have_given_it():
    assert phone_variants("+8613800000000") == ["13800000000", "8613800000000", "+8613800000000"]
    found = [lookup.value for lookup in lookups("138 0000-0000", SECRET) if lookup.match == "phone"]
    assert found == [f"c:{pseudonym(p, SECRET)}" for p in ("13800000000", "8613800000000", "+8613800000000")]
    assert [lookup.match for lookup in lookups("０５３６１２３４５", SECRET)] == ["phone", "household_id"]  # full-width digits


def test_a_case_id_and_a_name_are_looked_up_by_kind():
    assert [(lookup.kind, lookup.value) for lookup in lookups("c1a2b3c4d5e6f", SECRET)][0] == ("case", "C1A2B3C4D5E6F")
    matches = [lookup.match for lookup in lookups("wxm", SECRET)]
    assert matches == ["household_id", "name", "name_prefix", "name_part", "initials"]
    assert [lookup.tier for lookup in lookups("王小", SECRET)] == [0, 1, 2, 3]


def test_a_mistyped_id_number_is_told_apart_from_a_name():
    number = id_number(7)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert looks_like_id_number(wrong) and not looks_like_id_number(number) and not looks_like_id_number("王小明")


def test_matched_members_say_who_a_name_or_id_number_found():
    view = {"members": [{"person_key": "pk1", "name": "王小明"}, {"person_key": "pk2", "name": "李红"}]}
    by_name = next(lookup for lookup in lookups("小明", SECRET) if lookup.match == "name_part")
    assert matched_members(view, "小明", by_name) == ["王小明"]
    by_initials = next(lookup for lookup in lookups("lh", SECRET) if lookup.match == "initials")
    assert matched_members(view, "lh", by_initials) == ["李红"]
    by_id = next(lookup for lookup in lookups(id_number(1), SECRET) if lookup.match == "id_number")
    view["members"][1]["person_key"] = by_id.value.removeprefix("k:")
    assert matched_members(view, id_number(1), by_id) == ["李红"]
