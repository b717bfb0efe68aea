"""The county register: the bundled Anqiu file, lookups by code, refusals of unknown places, the served shape, replacement files."""

import pytest

from schemas.intake import Area
from schemas.messages import say
from schemas.register import RegisterError, load_register, parse_register

REGISTER = load_register()
HEADER = "code,name,level,parent,urban_rural\n"
SMALL = HEADER + (
    "370705000000,奎文区,county,,\n"
    "370705001000,东关街道,town,370705000000,\n"
    "370705001001,东苑社区,village,370705001000,111\n"
    "370705001001-01,第1网格,grid,370705001001,\n"
)


def test_the_bundled_register_is_anqiu_shaped_like_seed_000():
    towns = REGISTER.children[REGISTER.county.code]
    villages = [v for town in towns for v in REGISTER.children[town.code]]
    grids = [g for village in villages for g in REGISTER.children[village.code]]
    assert (REGISTER.county.code, REGISTER.county.name) == ("370784", "安丘市")
    assert (len(towns), len(villages), len(grids)) == (14, 898, 5628)
    assert [town.code for town in towns] == [f"370784{n}" for n in range(101, 115)]
    assert {"景芝镇", "柘山镇", "金冢子镇", "官庄镇", "石堆镇"} <= {town.name for town in towns}
    assert all(v.name.endswith(("村", "社区")) and v.urban_rural in {"111", "112", "121", "220"} for v in villages)
    assert len({(v.parent, v.name) for v in villages}) == len(villages)  # no two villages of a town share a name


def test_the_codes_tests_and_demo_traffic_use_are_registered():
    assert REGISTER.town("370784101").name == "景芝镇"
    assert REGISTER.village("370784101201").parent == "370784101"
    assert REGISTER.village("370784101203").parent == "370784101"
    assert REGISTER.village("370784107201").parent == "370784107"
    assert REGISTER.grid("370784101201-03").parent == "370784101201"
    assert REGISTER.name_of("370784101201-03") == "第3网格"
    assert REGISTER.name_of("370784107") == "兴安街道" and REGISTER.name_of("370784") == "安丘市"
    assert REGISTER.name_of("370784999") is None
    assert REGISTER.town("370784101201") is None  # a lookup by level refuses a code of another level


@pytest.mark.parametrize(
    ("area", "field", "key", "text"),
    [
        ({"town": "110101001", "village": "110101001001"}, "area.town", "register.unknown_town", "110101001 不在本县区划名录中"),
        ({"town": "370784999", "village": "370784999201"}, "area.town", "register.unknown_town", "370784999"),
        ({"town": "370784101", "village": "370784101399"}, "area.village", "register.unknown_village", "不在景芝镇的区划名录中"),
        ({"town": "370784101", "village": "370784107201"}, "area.village", "register.village_not_in_town", "属于兴安街道，不属于景芝镇"),
        (
            {"town": "370784101", "village": "370784101201", "grid": "370784101201-99"},
            "area.grid",
            "register.unknown_grid",
            "370784101201-99 不在景芝村的网格名录中",
        ),
        (
            {"town": "370784101", "village": "370784101203", "grid": "370784101201-01"},
            "area.grid",
            "register.grid_not_in_village",
            "网格 370784101201-01 属于景芝村",
        ),
    ],
)
def test_unknown_and_misplaced_places_are_refused_naming_the_field(area, field, key, text):
    refused_field, refused_key, params = REGISTER.refusal(Area(**area))
    assert (refused_field, refused_key) == (field, key)
    assert text in say(key, **params)
    assert say(key, "en", **params) != key


def test_known_places_pass_with_or_without_a_grid():
    assert REGISTER.refusal(Area(town="370784101", village="370784101201", grid="370784101201-03")) is None
    assert REGISTER.refusal(Area(town="370784107", village="370784107201")) is None


def test_the_served_shape_nests_towns_villages_and_grids_by_code_and_name():
    served = REGISTER.served()
    assert served["county"] == {"code": "370784", "name": "安丘市"}
    town = served["towns"][0]
    assert (town["code"], town["name"], set(town)) == ("370784101", "景芝镇", {"code", "name", "villages"})
    village = next(v for v in town["villages"] if v["code"] == "370784101201")
    assert (village["name"], set(village)) == ("景芝村", {"code", "name", "grids"})
    assert village["grids"][0] == {"code": "370784101201-01", "name": "第1网格"}
    assert sum(len(v["grids"]) for t in served["towns"] for v in t["villages"]) == 5628
    assert REGISTER.etag.startswith('"') and REGISTER.etag != parse_register(SMALL).etag


def test_a_replacement_file_is_loaded_once_from_its_path(tmp_path):
    path = tmp_path / "kuiwen.csv"
    path.write_text("\ufeff" + SMALL, encoding="utf-8")  # as spreadsheet programs save CSV
    register = load_register(str(path))
    assert register is load_register(str(path))
    assert register.served() == {
        "county": {"code": "370705", "name": "奎文区"},
        "towns": [
            {
                "code": "370705001",
                "name": "东关街道",
                "villages": [{"code": "370705001001", "name": "东苑社区", "grids": [{"code": "370705001001-01", "name": "第1网格"}]}],
            }
        ],
    }
    assert register.refusal(Area(town="370784101", village="370784101201"))[0] == "area.town"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("code,name\n370705000000,奎文区\n", "line 1: the header must be"),
        (SMALL + "370705001002,东苑社区,village,370705009000,111\n", "line 6: parent '370705009000' of 370705001002 is not listed above"),
        (SMALL + "370705002001,西苑社区,village,370705001000,111\n", "line 6: code 370705002001 does not begin with its parent's code"),
        (SMALL + "370705001001,东苑社区,village,370705001000,111\n", "line 6: code 370705001001 appears twice"),
        (SMALL + "370705001002,,village,370705001000,111\n", "line 6: 370705001002 has no name"),
        (SMALL + "3707050010,东苑社区,village,370705001000,\n", "line 6: '3707050010' is not a village code"),
        (SMALL + "370705001000001,x,town,370705000000,\n", "line 6: '370705001000001' is not a town code"),
        (SMALL + "370705002000,西关街道,town,370705000000,111\n", "line 6: urban-rural code '111' applies to villages only"),
        (SMALL + "370705001002,东苑社区,village,370705001000,999\n", "line 6: urban-rural code '999'"),
        (SMALL + "370705001002,东苑社区,hamlet,370705001000,\n", "line 6: level 'hamlet' is not one of"),
        (SMALL + "370705001002,东苑社区,village,370705000000,111\n", "line 6: parent 370705000000 of 370705001002 is a county, not a town"),
        (SMALL + "370705001002,东苑社区\n", "line 6: expected the 5 columns"),
        (SMALL + "370706000000,潍城区,county,,\n", "exactly one county, this one 2"),
        (HEADER, "exactly one county, this one 0"),
    ],
)
def test_a_broken_file_is_refused_saying_which_line_and_why(text, says):
    with pytest.raises(RegisterError) as refused:
        parse_register(text)
    assert says in str(refused.value)
