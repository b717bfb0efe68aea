from collections import Counter, defaultdict
from itertools import islice

import orjson

from schemas.departments import load_departments
from schemas.register import load_register, parse_register
from streams.devtools.generator import Generator
from streams.rules.normalise import parse_input

DEPARTMENTS = load_departments("bundled")
REGISTER = load_register()


def test_the_network_is_the_registers_with_the_seeds_shape():
    network = Generator(DEPARTMENTS, seed=1).network
    assert [REGISTER.name_of(town) for town in network.villages][:5] == ["景芝镇", "柘山镇", "金冢子镇", "官庄镇", "石堆镇"]
    assert (len(network.villages), sum(len(v) for v in network.villages.values()), len(network.grids)) == (14, 898, 898)
    assert sum(len(g) for g in network.grids.values()) == 5628
    assert all(REGISTER.village(v).parent == town for town, vs in network.villages.items() for v in vs)
    assert all(REGISTER.grid(g).parent == v for v, gs in network.grids.items() for g in gs)


def test_a_replaced_register_drives_the_traffic(tmp_path):
    small = parse_register(
        "code,name,level,parent,urban_rural\n"
        "370705000000,奎文区,county,,\n"
        "370705001000,东关街道,town,370705000000,\n"
        "370705001001,东苑社区,village,370705001000,111\n"
    )
    generator = Generator(DEPARTMENTS, seed=4, register=small)
    areas = {orjson.dumps(body["area"]) for _, (_, body) in zip(range(50), generator, strict=False)}
    assert areas == {orjson.dumps({"town": "370705001", "village": "370705001001", "grid": None})}


def test_every_event_is_valid_on_its_topic_and_households_recur_across_sources():
    generator = Generator(DEPARTMENTS, seed=2)
    sources_by_subject_household = defaultdict(set)
    topics = Counter()
    registered: set[str] = set()
    for _, (topic, body) in zip(range(3000), generator, strict=False):
        event = parse_input(topic, orjson.dumps(body), DEPARTMENTS, REGISTER)  # raises if invalid or not allowed
        topics[topic] += 1
        if getattr(event, "type", None) == "household.member_added":
            registered.add(event.subject.id_number)
            continue
        home = next(h for h in generator.pool if any(p.id_number == event.subject.id_number for p in h.members))
        sources_by_subject_household[home.household_id].add(topic)
    assert set(topics) == {"hotline.calls", "hospital.admissions", "department.changes"}
    assert topics["hotline.calls"] > topics["hospital.admissions"]
    assert sum(len(s) > 1 for s in sources_by_subject_household.values()) >= 20  # compounding across sources happens
    assert len(registered) > 100


def test_a_burst_is_accident_calls_from_one_town():
    generator = Generator(DEPARTMENTS, seed=3)
    next(generator)
    generator.pending.clear()
    generator.burst(20)
    burst = [next(generator) for _ in range(20)]
    assert {topic for topic, _ in burst} == {"hotline.calls"}
    assert {body["category"] for _, body in burst} == {"accident_or_disaster"}
    assert len({body["area"]["town"] for _, body in burst}) == 1


def test_calls_about_someone_with_no_id_number_come_only_when_asked_for_and_as_seeded():
    assert all("id_number" in body["subject"] for _, body in islice(Generator(DEPARTMENTS, seed=5), 3000))
    asked = [list(islice(Generator(DEPARTMENTS, seed=5, unidentified_calls=1 / 40), 3000)) for _ in range(2)]
    assert asked[0] == asked[1]
    calls = [body for topic, body in asked[0] if topic == "hotline.calls"]
    unknown = [body for body in calls if "id_number" not in body["subject"]]
    assert 0.01 < len(unknown) / len(calls) < 0.05
    for body in unknown:
        parse_input("hotline.calls", orjson.dumps(body), DEPARTMENTS, REGISTER)  # raises if invalid
        assert {"sex", "approximate_age", "description"} <= set(body["subject"]) and body["description"]
    assert 0 < sum("name" in body["subject"] for body in unknown) < len(unknown)
    children = [body for body in unknown if body["category"] == "child_unattended"]
    assert children and all(body["subject"]["approximate_age"] < 21 for body in children)
