"""Tokens that belong to named people: the people file (SHA-256 digests only), and the registry the API authenticates by.

The people file (`<data dir>/tokens.json`) is the store of record: each entry is a person with a name, a role, when the
token was made and, once revoked, when. The development tokens file (`{role: token}`, written by `rapidaid dev` and the
tests) is read beside it; a token found in both is the person's (so revoking the person revokes it too), and a token
only in the development file is named after its role, 开发测试（role）.
"""

import fcntl
import logging
import os
import secrets
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import orjson
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from api.auth import Principal, digest, normalise_role
from schemas.messages import say
from streams.rules.clock import CHINA

log = logging.getLogger(__name__)
DIGEST_SHOWN = 12
RECHECK_S = 1.0
NAME_MAX = 50


class TokenError(ValueError):
    """A tokens command that cannot be carried out, with the reason to print."""


class Person(BaseModel):
    """A named holder of one token, kept by the token's digest."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    role: Annotated[str, AfterValidator(normalise_role)]
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: datetime
    revoked_at: datetime | None = None


class PeopleFile(BaseModel):
    """What the people file holds."""

    people: list[Person] = Field(default_factory=list)


def both(key: str, separator: str = "\n", **params: object) -> str:
    """A catalogue text in Chinese, then in English (on the next line unless another separator is given)."""
    return f"{say(key, **params)}{separator}{say(key, 'en', **params)}"


def read_people(path: Path) -> list[Person]:
    """The people in the file; none when it does not exist yet."""
    if not path.exists():
        return []
    return PeopleFile.model_validate_json(path.read_bytes()).people


def _write_people(path: Path, people: list[Person]) -> None:
    # A reader (the API) sees the old file or the new one, never half of one.
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        try:
            temporary.write(PeopleFile(people=people).model_dump_json(indent=2).encode())
            temporary.flush()
            os.fsync(temporary.fileno())
            os.chmod(temporary.name, 0o600)
            os.replace(temporary.name, path)
        except BaseException:
            os.unlink(temporary.name)
            raise


@contextmanager
def _changing(path: Path) -> Iterator[list[Person]]:
    """The people in the file, to change in place: written back on success; one writer at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        people = read_people(path)
        yield people
        _write_people(path, people)


def add_person(path: Path, name: str, role: str, now: datetime, token: str | None = None) -> tuple[Person, str]:
    """Give a person a new token (or the one passed in) and keep its digest; return the person and the token."""
    try:
        role = normalise_role(role)
    except ValueError:
        raise TokenError(both("tokens.bad_role", role=role)) from None
    name = name.strip()
    if not 0 < len(name) <= NAME_MAX:
        raise TokenError(both("tokens.bad_name", most=NAME_MAX))
    token = token or secrets.token_urlsafe(24)
    person = Person(name=name, role=role, digest=digest(token), created_at=now)
    with _changing(path) as people:
        people.append(person)
    return person, token


def revoke(path: Path, key: str, now: datetime) -> Person:
    """Revoke the one active token whose holder's name is key, or whose digest starts with key."""
    key = key.strip().lower()
    by_digest = len(key) >= 6 and all(c in "0123456789abcdef" for c in key)
    with _changing(path) as people:
        matches = [i for i, p in enumerate(people) if p.name.lower() == key or (by_digest and p.digest.startswith(key))]
        active = [i for i in matches if people[i].revoked_at is None]
        if not matches:
            raise TokenError(both("tokens.no_match", given=key))
        if not active:
            raise TokenError(both("tokens.already_revoked", given=key))
        if len(active) > 1:
            listed = ", ".join(f"{people[i].name} {people[i].digest[:DIGEST_SHOWN]}" for i in active)
            raise TokenError(both("tokens.ambiguous", given=key, matches=listed))
        people[active[0]] = people[active[0]].model_copy(update={"revoked_at": now})
        return people[active[0]]


def dev_name(role: str) -> str:
    """The name a token of the development tokens file goes by."""
    return say("tokens.dev_name", role=role)


def _file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What changes when a file is rewritten (os.replace gives a new inode even within one mtime tick)."""
    if path is None or not path.exists():
        return None
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class TokenRegistry:
    """Known tokens by SHA-256 digest, from the people file and the development tokens file; re-read when either changes."""

    def __init__(self, people_file: Path, dev_tokens_file: Path | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._files = (people_file, dev_tokens_file)
        self._clock = clock
        self._stamps = tuple(_file_stamp(path) for path in self._files)
        self._principals = self._load()
        self._next_check = clock() + RECHECK_S

    def _load(self) -> dict[str, Principal]:
        people_file, dev_tokens_file = self._files
        dev_tokens = orjson.loads(dev_tokens_file.read_bytes()) if dev_tokens_file and dev_tokens_file.exists() else {}
        principals = {}
        for role, token in dev_tokens.items():
            role = normalise_role(role)
            principals[digest(token)] = Principal(role, dev_name(role))
        for person in read_people(people_file):
            if person.revoked_at is None:
                principals[person.digest] = Principal(person.role, person.name)
            else:
                principals.pop(person.digest, None)
        return principals

    def _refresh(self) -> None:
        # Auth runs on every request: look at the files at most once a second, and re-read them only when they changed.
        now = self._clock()
        if now < self._next_check:
            return
        self._next_check = now + RECHECK_S
        stamps = tuple(_file_stamp(path) for path in self._files)
        if stamps == self._stamps:
            return
        self._stamps = stamps
        try:
            self._principals = self._load()
        except (OSError, ValueError, ValidationError) as error:
            log.error("tokens not reloaded, the previous ones stay in force until the files change again: %r", error)
            return
        log.info("tokens reloaded: %d known", len(self._principals))

    def principal(self, token: str) -> Principal | None:
        """The principal a token belongs to, if any."""
        self._refresh()
        return self._principals.get(digest(token))


# The `rapidaid tokens` commands: each returns the text to print (Chinese first, then English) or raises TokenError.


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ("  ".join(cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


def _china_time(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _state(person: Person) -> str:
    if person.revoked_at is None:
        return both("tokens.state_active", " ")
    return f"{both('tokens.state_revoked', ' ')} {_china_time(person.revoked_at)}"


def add_command(path: Path, role: str, name: str, now: datetime) -> str:
    """`rapidaid tokens add`: what happened, and the new token alone on the last line."""
    person, token = add_person(path, name, role, now)
    return f"{both('tokens.added', name=person.name, role=person.role, digest=person.digest[:DIGEST_SHOWN])}\n{token}"


def list_command(path: Path) -> str:
    """`rapidaid tokens list`: everyone in the people file, revoked ones included."""
    people = read_people(path)
    if not people:
        return both("tokens.none")
    columns = ("name", "role", "created", "digest", "state")
    header = [both(f"tokens.column_{column}", " ") for column in columns]
    rows = [[p.name, p.role, _china_time(p.created_at), p.digest[:DIGEST_SHOWN], _state(p)] for p in people]
    return _table([header, *rows])


def revoke_command(path: Path, key: str, now: datetime) -> str:
    """`rapidaid tokens revoke`: whose token was revoked."""
    person = revoke(path, key, now)
    return both("tokens.revoked", name=person.name, role=person.role, digest=person.digest[:DIGEST_SHOWN])
