"""Chinese resident ID numbers (GB 11643-1999): validation and masking."""

import re
from datetime import date

from schemas.messages import catalogue_error

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def check_digit(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def id_number_error(value: str) -> str | None:
    """Return what is wrong with value as a resident ID number (a validation.<type> of the catalogue), or None when valid."""
    if len(value) != 18:
        return "id_number_length"
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] in "Xx"):
        return "id_number_characters"
    try:
        birth_date(value)
    except ValueError:
        return "id_number_birth_date"
    if check_digit(value[:17]) != value[17].upper():
        return "id_number_check_digit"
    return None


def normalise_id_number(value: str) -> str:
    """Return the canonical form of a valid ID number (upper-case X); raise a catalogue-typed validation error otherwise."""
    value = value.strip()
    error = id_number_error(value)
    if error:
        raise catalogue_error(error)
    return value.upper()


def mask_id_number(value: str) -> str:
    """Mask an ID number for display and logs: keep the first 4 and last 4 characters."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def sex_from_id(value: str) -> str | None:
    """male or female from an ID number's 17th digit (odd is male), which its masked form keeps; None when not there."""
    if len(value) != 18 or not value[16].isdigit():
        return None
    return "male" if int(value[16]) % 2 else "female"


EARLIEST_BIRTH_YEAR = 1880  # no one alive was born earlier; year 0001 or 1000 is a typing error, not a person


def birth_date(value: str) -> date:
    """The birth date encoded in a valid ID number; ValueError for one no living person can have."""
    born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    if born.year < EARLIEST_BIRTH_YEAR:
        raise ValueError(f"birth year {born.year} is before {EARLIEST_BIRTH_YEAR}")
    return born


def age_on(value: str, day: date) -> int:
    """Age in whole years on the given day of the person with this ID number."""
    born = birth_date(value)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# 15-digit (first generation) to 18-character numbers, also typed with spaces or dashes between digits: 11-digit
# mobile numbers stay readable, anything as long as an ID number is masked. A UUID (an event or command id) is matched
# first and kept whole: its groups can be all digits by chance, and a masked event id can no longer be looked up.
_ID_LIKE = re.compile(
    r"(?P<uuid>(?<![0-9A-Za-z-])[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}(?![0-9A-Za-z-]))"
    r"|(?<![0-9])(?:[0-9][ -]?){14,17}[0-9Xx](?![0-9])"
)


def mask_id_numbers_in(text: str) -> str:
    """Mask everything in free text that looks like a resident ID number."""
    return _ID_LIKE.sub(lambda match: match.group() if match.group("uuid") else mask_id_number(match.group()), text)


def mask_phone(value: str) -> str:
    """Mask a phone number for readers who need not call it back: keep the first 3 and last 4 digits."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# Mainland mobile numbers, bare or after +86, in free text.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86)?1[3-9][0-9]{9}(?![0-9])")


def mask_phones_in(text: str) -> str:
    """Mask every mobile phone number in free text."""
    return _MOBILE.sub(lambda match: mask_phone(match.group()), text)
