"""Whether a subject nobody could identify may be the person an open case nearby is already about (可能是同一人).

Advice for the officer, who confirms (the cases merge) or dismisses; nothing here merges anything.
"""

from dataclasses import dataclass
from datetime import datetime

from schemas.programmes import Fact
from streams.rules.policy import MatchingPolicy


@dataclass(frozen=True)
class Sighting:
    """What a case says of its subject, as far as matching needs it."""

    case_id: str
    household_id: str
    name: str
    sex: str | None
    age: int | None
    town: str
    village: str
    opened_at: datetime


def similar_names(a: str, b: str) -> bool:
    """Two Chinese names may be one person's: equal, one within the other (小明 in 王小明), or surname and a given-name character shared."""
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    return a[0] == b[0] and bool(set(a[1:]) & set(b[1:]))


def why_same(new: Sighting, other: Sighting, policy: MatchingPolicy) -> list[Fact]:
    """The reasons an unidentified subject may be another case's subject; empty when nothing says so or something says not."""
    if new.case_id == other.case_id or new.household_id == other.household_id:
        return []
    if abs((new.opened_at - other.opened_at).total_seconds()) > policy.window_s:
        return []
    if new.village == other.village:
        reasons = [Fact(code="match.same_village")]
    elif new.town == other.town:
        reasons = [Fact(code="match.same_town")]
    else:
        return []
    if new.sex and other.sex and new.sex != other.sex:
        return []
    ages_known = new.age is not None and other.age is not None
    if ages_known and abs(new.age - other.age) > policy.age_within:
        return []
    names_known = bool(new.name and other.name)
    if names_known and not similar_names(new.name, other.name):
        return []
    if names_known:
        reasons.append(Fact(code="match.name", params={"name": new.name, "other": other.name}))
    if ages_known:
        reasons.append(Fact(code="match.age", params={"age": new.age, "other": other.age}))
    if new.sex and new.sex == other.sex:
        reasons.append(Fact(code="match.sex", params={"sex": new.sex}))
    # A place and a time alone say nothing of who someone is: a name or an age must agree too, and without a name, in one village.
    evidence = names_known or (ages_known and reasons[0].code == "match.same_village")
    return reasons if evidence else []
