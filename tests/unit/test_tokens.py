"""The people file: tokens that belong to named people, kept as digests only, and the registry that reloads it."""

import hashlib
import stat
from datetime import UTC, datetime

import orjson
import pytest

from api.tokens import TokenError, TokenRegistry, add_command, add_person, list_command, read_people, revoke, revoke_command
from streams.devtools.dev import DEV_NAMES, DEV_PEOPLE, ensure_dev_people
from streams.devtools.simulate import DEMO_ROLES

NOW = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 10:30 in China


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_only_the_digest_is_kept_and_the_token_is_printed_once_on_the_last_line(tmp_path):
    people_file = tmp_path / "tokens.json"
    printed = add_command(people_file, "officer:town:370784101", "张伟", NOW)
    token = printed.splitlines()[-1]
    assert "张伟" in printed.splitlines()[0] and "Token created for 张伟" in printed.splitlines()[1]
    stored = people_file.read_text()
    assert token not in stored
    [person] = read_people(people_file)
    assert (person.name, person.role, person.created_at, person.revoked_at) == ("张伟", "officer:town:370784101", NOW, None)
    assert person.digest == hashlib.sha256(token.encode()).hexdigest()
    assert stat.S_IMODE(people_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["tokens.json"]  # no temporary file left


def test_roles_are_validated_and_a_bare_officer_is_the_city(tmp_path):
    people_file = tmp_path / "tokens.json"
    with pytest.raises(TokenError, match="角色无效：officer:county:1"):
        add_person(people_file, "赵六", "officer:county:1", NOW)
    with pytest.raises(TokenError, match="姓名不能为空"):
        add_person(people_file, "  ", "operator", NOW)
    assert add_person(people_file, "李娜", "officer", NOW)[0].role == "officer:city:*"
    assert [p.name for p in read_people(people_file)] == ["李娜"]


def test_list_shows_name_role_china_time_digest_prefix_and_whether_revoked(tmp_path):
    people_file = tmp_path / "tokens.json"
    assert list_command(people_file).startswith("还没有登记到人的令牌")
    zhang, _ = add_person(people_file, "张伟", "officer:town:370784101", NOW)
    wang, _ = add_person(people_file, "王芳", "operator", NOW)
    revoke(people_file, "王芳", NOW)
    header, first, second = list_command(people_file).splitlines()
    assert header.split()[:2] == ["姓名", "name"]
    assert first.split() == ["张伟", "officer:town:370784101", "2026-12-01", "10:30", zhang.digest[:12], "有效", "active"]
    assert second.split() == ["王芳", "operator", "2026-12-01", "10:30", wang.digest[:12], "已吊销", "revoked", "2026-12-01", "10:30"]
    assert first.index(zhang.digest[:12]) == second.index(wang.digest[:12])  # columns line up despite wide characters


def test_revoke_by_name_or_digest_prefix_refusing_what_is_ambiguous_unknown_or_done(tmp_path):
    people_file = tmp_path / "tokens.json"
    first, _ = add_person(people_file, "张伟", "officer:town:370784101", NOW)
    second, _ = add_person(people_file, "张伟", "officer:village:370784101201", NOW)
    with pytest.raises(TokenError, match="张伟 对应多个有效令牌") as ambiguous:
        revoke(people_file, "张伟", NOW)
    assert first.digest[:12] in str(ambiguous.value) and second.digest[:12] in str(ambiguous.value)
    assert "已吊销 张伟（officer:village:370784101201）" in revoke_command(people_file, second.digest[:8].upper(), NOW)
    assert revoke(people_file, "张伟", NOW).digest == first.digest  # now only one of them is active
    with pytest.raises(TokenError, match="已经吊销"):
        revoke(people_file, "张伟", NOW)
    with pytest.raises(TokenError, match="没有姓名为 李四"):
        revoke(people_file, "李四", NOW)
    with pytest.raises(TokenError, match="没有姓名为 abc"):
        revoke(people_file, "abc", NOW)  # too short to be taken as a digest prefix
    assert all(p.revoked_at == NOW for p in read_people(people_file))


def test_people_are_named_dev_tokens_named_by_role_and_revoking_a_person_revokes_their_dev_token(tmp_path):
    people_file, dev_file = tmp_path / "tokens.json", tmp_path / "dev-tokens.json"
    dev_file.write_bytes(orjson.dumps({"operator": "op-token", "officer": "city-token", "officer:town:370784101": "town-token"}))
    add_person(people_file, "张伟", "officer:town:370784101", NOW, token="town-token")
    registry = TokenRegistry(people_file, dev_file)
    assert registry.principal("op-token").name == "开发测试（operator）"
    assert registry.principal("city-token").role == "officer:city:*"
    assert registry.principal("town-token").name == "张伟"
    assert registry.principal("nobody") is None
    revoke(people_file, "张伟", NOW)
    assert TokenRegistry(people_file, dev_file).principal("town-token") is None


def test_the_registry_picks_up_changes_within_a_second_and_keeps_the_old_tokens_if_a_file_breaks(tmp_path):
    people_file, clock = tmp_path / "tokens.json", Clock()
    registry = TokenRegistry(people_file, tmp_path / "missing-dev-tokens.json", clock)
    _, token = add_person(people_file, "张伟", "officer:town:370784101", NOW)
    assert registry.principal(token) is None  # the files are looked at no more than once a second
    clock.now += 1
    assert registry.principal(token).name == "张伟"
    revoke(people_file, "张伟", NOW)
    clock.now += 1
    assert registry.principal(token) is None
    _, other = add_person(people_file, "王芳", "operator", NOW)
    clock.now += 1
    assert registry.principal(other).name == "王芳"
    people_file.write_text("{not json")
    clock.now += 1
    assert registry.principal(other).name == "王芳"


def test_the_dev_launchers_people_keep_their_tokens_across_restarts_and_a_revoked_one_gets_a_new_one(tmp_path):
    people_file, dev_file = tmp_path / "tokens.json", tmp_path / "dev-tokens.json"
    first = ensure_dev_people(dev_file, people_file, NOW)
    assert ensure_dev_people(dev_file, people_file, NOW) == first == orjson.loads(dev_file.read_bytes())
    registry = TokenRegistry(people_file, dev_file)
    assert [(registry.principal(first[role]).name, registry.principal(first[role]).role) for _, role in DEV_PEOPLE] == list(DEV_PEOPLE)
    revoke(people_file, "张伟", NOW)
    again = ensure_dev_people(dev_file, people_file, NOW)
    assert again["officer:town:370784101"] != first["officer:town:370784101"]
    assert TokenRegistry(people_file, dev_file).principal(again["officer:town:370784101"]).name == "张伟"
    assert len(read_people(people_file)) == len(DEV_PEOPLE) + 1  # and the revoked one


def test_the_demo_acts_only_as_named_people():
    acting = {role: DEV_NAMES.get(role) for role in DEMO_ROLES}
    assert acting == {"officer:city:*": "李娜", "operator": "陈静", "partner:county-charity": "周敏"}
