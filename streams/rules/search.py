"""Finding anyone: the index tokens of a household, and what a query looks up, best matches first.

A token is a kind and a value: `n:` a whole name, `p:` a name's beginning, `s:` a part inside it (two characters or
more), `i:` its pinyin initials (wxm for 王小明, and parts of them), `k:` a member's person key (the keyed hash of the
ID number), `c:` a caller's phone key. ID numbers and phones are looked up by their keyed hash, never held in clear.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from pypinyin import Style, pinyin

from schemas.ids import id_number_error
from streams.rules.normalise import pseudonym

# Names longer than this are found whole, or by their first GRAM_MAX characters (what matched is checked on the names).
GRAM_MAX = 8
SURNAME_READINGS_MAX = 4
CASE_ID = re.compile(r"^C[0-9A-F]{12}$")
PHONE = re.compile(r"^\+?\d{5,20}$")
MOBILE = re.compile(r"^(?:\+?86)?(1\d{10})$")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
INITIALS_QUERY = re.compile(r"^[a-z]{2,}$")
# Best first: exact identifiers, the whole name, its beginning, then a part of it or its initials.
TIERS = {"case_id": 0, "household_id": 0, "id_number": 0, "phone": 0, "name": 1, "name_prefix": 2, "name_part": 3, "initials": 3}


def normalised(text: str) -> str:
    """A name or query as the index keeps it: full-width forms folded, case folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@lru_cache(maxsize=65536)
def name_initials(name: str) -> list[str]:
    """The pinyin initials of an all-Chinese name: the common reading, and every reading of the surname (单: s, d, c)."""
    hans = "".join(HAN.findall(name))
    if not hans or len(hans) != len(name.replace("·", "").replace("•", "")):
        return []
    letters = pinyin(hans, style=Style.FIRST_LETTER, heteronym=True)
    common = [readings[0] for readings in letters]
    surnames = letters[0][:SURNAME_READINGS_MAX]
    return sorted({"".join(spelling) for spelling in product(surnames, ["".join(common[1:])])})


def _parts(text: str, kind_prefix: str, kind_part: str, shortest_part: int) -> set[str]:
    """The beginnings of text (kind_prefix) and its other parts of at least shortest_part characters (kind_part), up to GRAM_MAX."""
    tokens = {f"{kind_prefix}{text[:n]}" for n in range(1, min(len(text), GRAM_MAX) + 1)}
    for start in range(1, len(text)):
        tokens |= {f"{kind_part}{text[start:end]}" for end in range(start + shortest_part, min(len(text), start + GRAM_MAX) + 1)}
    return tokens


@lru_cache(maxsize=65536)
def name_tokens(name: str) -> frozenset[str]:
    """The tokens a name is found by: whole, beginnings, parts of two characters or more, and pinyin initials (two letters or more)."""
    text = normalised(name)
    if not text:
        return frozenset()
    tokens = {f"n:{text}"} | _parts(text, "p:", "s:", 2)
    for initials in name_initials(text):
        tokens |= {token for token in _parts(initials, "i:", "i:", 2) if len(token) > 3}
    return frozenset(tokens)


def household_tokens(view: dict) -> list[str]:
    """Every token the household is indexed under (a HouseholdView as JSON): its members' names and person keys, its
    callers' phone keys."""
    # The projection reads the view from the case event's JSON; validating it into a model only to read three fields
    # cost more than the rest of the household's projection.
    members = view["members"]
    tokens = {f"k:{member['person_key']}" for member in members}
    tokens |= {f"c:{key}" for key in view["caller_keys"]}
    for member in members:
        tokens |= name_tokens(member.get("name"))
    return sorted(tokens)


@dataclass(frozen=True)
class Lookup:
    """One thing a query looks up: a token of the index, a case id or a household id, and the kind of match it is."""

    kind: str  # token, case or household
    value: str
    match: str

    @property
    def tier(self) -> int:
        """Its rank: lower is a better match."""
        return TIERS[self.match]


def phone_variants(digits: str) -> list[str]:
    """A phone as callers' phones may have been recorded: a mobile number bare, after 86 and after +86."""
    mobile = MOBILE.match(digits)
    return [mobile.group(1), f"86{mobile.group(1)}", f"+86{mobile.group(1)}"] if mobile else [digits]


def lookups(query: str, secret: bytes) -> list[Lookup]:
    """What a query is looked up by, best first: an ID number or phone by its keyed hash, a case or household id, a name."""
    text = normalised(query)
    if not text:
        return []
    found = [Lookup("household", query.strip(), "household_id")]
    upper = text.upper()
    if CASE_ID.match(upper):
        return [Lookup("case", upper, "case_id"), *found]
    if len(upper) == 18 and id_number_error(upper) is None:
        return [Lookup("token", f"k:{pseudonym(upper, secret)}", "id_number"), *found]
    digits = text.replace("-", "")
    if PHONE.match(digits):
        return [*(Lookup("token", f"c:{pseudonym(phone, secret)}", "phone") for phone in phone_variants(digits)), *found]
    head = text[:GRAM_MAX]
    found += [Lookup("token", f"n:{text}", "name"), Lookup("token", f"p:{head}", "name_prefix"), Lookup("token", f"s:{head}", "name_part")]
    if INITIALS_QUERY.match(text) and len(text) <= GRAM_MAX:
        found.append(Lookup("token", f"i:{text}", "initials"))
    return found


def looks_like_id_number(query: str) -> bool:
    """Whether the query is 18 characters of digits (and X) that fail the ID number's checks: a mistyped ID number."""
    text = normalised(query).upper()
    return len(text) == 18 and re.fullmatch(r"\d{17}[\dX]", text) is not None and id_number_error(text) is not None


def matched_members(view: dict, query: str, lookup: Lookup) -> list[str]:
    """The names of the members the query found: by ID number, or by their name (whole, part or initials)."""
    if lookup.match == "id_number":
        return [member["name"] for member in view.get("members", ()) if f"k:{member['person_key']}" == lookup.value]
    if TIERS[lookup.match] == 0:
        return []
    text = normalised(query)
    initials_too = INITIALS_QUERY.match(text) is not None
    return [
        member["name"]
        for member in view.get("members", ())
        if (name := normalised(member.get("name", "")))
        and (text in name or (initials_too and any(text in initials for initials in name_initials(name))))
    ]
