"""Realistic synthetic traffic: a county's three-tier network, households that recur, three sources, bursts.

The network is the county register's (the bundled one is shaped like seed 000, Anqiu: 14 towns, 898
villages and communities, 5,628 grids), so demo traffic names real places. Households are drawn with
a heavy tail, so some are reported again by other sources within days and compound.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from schemas.departments import Departments
from schemas.ids import check_digit
from schemas.intake import AdmissionType, CallCategory, Diagnosis
from schemas.register import Register, load_register

# What callers say, by category (the demo's words on the cards; chosen without the random generator, so sequences stay as seeded).
CALLER_WORDS = {
    CallCategory.MEDICAL_EMERGENCY: ("家里老人突发脑出血，已送医院，家里拿不出押金", "丈夫干活时从梯子上摔下来，腿骨折了，孩子还小"),
    CallCategory.ACCIDENT_OR_DISASTER: ("昨夜暴雨房子塌了半边，一家四口没地方住", "家里失火，东西都烧没了，老人受了惊吓"),
    CallCategory.NO_FOOD_OR_SHELTER: ("外地来打工，工地停工欠薪，两天没吃饭了", "路封了回不了家，身上没钱，带着孩子在车站过夜"),
    CallCategory.CHILD_UNATTENDED: ("邻居家7岁男孩独自在家两天了，大人联系不上", "孩子妈妈住院，爸爸在外地，两个孩子没人管"),
    CallCategory.ELDERLY_OR_DISABLED_UNATTENDED: ("独居老人摔倒在家起不来，身边没人", "重度残疾的儿子一个人在家，照顾他的母亲住院了"),
    CallCategory.LOSS_OF_INCOME: ("厂子倒闭失业三个月，房租交不上了", "家里顶梁柱病倒了，没了收入，孩子上学的钱也没有"),
    CallCategory.OTHER: ("想问问临时救助怎么申请", "村里有户人家情况不太好，请来看看"),
}

# How a caller describes someone whose ID number nobody at hand knows: a child, an adult, an old person.
LOOKS = {
    "child": ("穿红色棉袄，个子一米二左右，背着蓝色书包", "瘦小，穿校服，说不清家住哪里", "短头发，穿黄色外套和运动鞋，手里拿着玩具车"),
    "adult": (
        "穿工地反光背心，背着编织袋，说是外地来打工的",
        "中等身材，穿灰色夹克，左手缠着纱布",
        "戴眼镜，穿深色羽绒服，拖着行李箱，说手机丢了",
    ),
    "elderly": ("白头发，拄拐杖，穿深蓝色中山装，说不清住址", "驼背，穿旧棉衣，耳背，只记得自己姓什么", "坐轮椅，穿格子衬衫，神志有些糊涂"),
}
# What the call is about and what the caller says, by who it is: a child alone, a stranded or injured adult, an old person
# found helpless.
UNIDENTIFIED_CALLS = {
    "child": (
        (CallCategory.CHILD_UNATTENDED, "村口有个孩子一个人待了大半天，问他家在哪说不清楚"),
        (CallCategory.CHILD_UNATTENDED, "邻居家孩子独自在家两天了，大人联系不上，不知道孩子的身份证号"),
    ),
    "adult": (
        (CallCategory.NO_FOOD_OR_SHELTER, "车站有个人说路封了回不了家，身上没钱，两天没吃饭了"),
        (CallCategory.MEDICAL_EMERGENCY, "路边有人晕倒了，叫不醒，身上没有证件"),
        (CallCategory.ACCIDENT_OR_DISASTER, "工地上有人受伤了，工友说不出他的身份证号"),
    ),
    "elderly": (
        (CallCategory.ELDERLY_OR_DISABLED_UNATTENDED, "有位老人在集市上走失了，问不出家在哪"),
        (CallCategory.MEDICAL_EMERGENCY, "老人在路边摔倒起不来，身边没有家人"),
    ),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
RECURRING_SHARE = 0.3  # events about a household reported in the recent past
RECENT_HOUSEHOLDS = 50
LONE_ELDER_SHARE = 0.06  # an old person living alone: on the watch list once the registry shows it (分级分类探访)
REGISTRY_SHARE = 0.5  # households whose registry records are sent before their first signal
SOURCE_WEIGHTS = {"hotline": 5, "hospital": 2, "department": 3}
CALL_WEIGHTS = {
    CallCategory.MEDICAL_EMERGENCY: 5,
    CallCategory.ACCIDENT_OR_DISASTER: 2,
    CallCategory.NO_FOOD_OR_SHELTER: 2,
    CallCategory.CHILD_UNATTENDED: 1,
    CallCategory.ELDERLY_OR_DISABLED_UNATTENDED: 2,
    CallCategory.LOSS_OF_INCOME: 3,
    CallCategory.OTHER: 3,
}
CHANGE_WEIGHTS = {
    "employment.lost": 6,
    "medical.large_expense": 4,
    "lowincome.enrolled": 3,
    "disability.certified": 2,
    "education.enrolled_college": 2,
    "employment.found": 2,
    "household.member_died": 1,
    "lowincome.exited": 1,
    "asset.vehicle_bought": 1,
    "asset.property_bought": 1,
}


@dataclass(frozen=True)
class Network:
    """Towns → villages → grids, by code, as the county register lists them."""

    villages: dict[str, list[str]]
    grids: dict[str, list[str]]

    @classmethod
    def of(cls, register: Register) -> "Network":
        """The register's towns, their villages and the villages' grids."""
        towns = [town for town in register.children[register.county.code] if register.children[town.code]]
        villages = {town.code: [village.code for village in register.children[town.code]] for town in towns}
        grids = {code: [grid.code for grid in register.children[code]] for codes in villages.values() for code in codes}
        return cls(villages, grids)


@dataclass
class Person:
    """A resident with a valid ID number."""

    id_number: str
    name: str
    born: date


@dataclass
class Household:
    """A registry household: where it lives and who belongs to it."""

    household_id: str
    town: str
    village: str
    grid: str | None
    members: list[Person]
    registry_sent: bool = False  # True also for households the registry feed never covers


@dataclass
class Generator:
    """An endless, seeded stream of (topic, event) pairs in the wire format."""

    departments: Departments
    seed: int | None = None
    households: int = 20000
    unidentified_calls: float = 0.0  # the share of hotline calls about someone whose ID number the caller does not know
    today: date = field(default_factory=date.today)  # what a caller's guess of someone's age is near
    register: Register = field(default_factory=load_register)
    rng: random.Random = field(init=False)
    network: Network = field(init=False)
    pool: list[Household] = field(init=False, default_factory=list)
    pending: list[tuple[str, dict]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.network = Network.of(self.register)

    def person(self, years: tuple[int, int]) -> Person:
        """A person of the county born within the years."""
        born = date(years[0], 1, 1) + timedelta(days=self.rng.randrange((years[1] - years[0]) * 365))
        first17 = f"{self.register.county.code}{born:%Y%m%d}{self.rng.randrange(1000):03d}"
        name = self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=self.rng.choice((1, 2))))
        return Person(first17 + check_digit(first17), name, born)

    def household(self) -> Household:
        """A household: often one reported lately (so signals compound), otherwise another of the county."""
        if self.pool and self.rng.random() < RECURRING_SHARE:
            return self.rng.choice(self.pool[-RECENT_HOUSEHOLDS:])
        if len(self.pool) >= self.households:
            home = self.rng.choice(self.pool)
            self.pool.remove(home)
        else:
            home = self.new_household()
        self.pool.append(home)
        return home

    def new_household(self) -> Household:
        """A household of the county not drawn before."""
        town = self.rng.choice(list(self.network.villages))
        village = self.rng.choice(self.network.villages[town])
        adults = [self.person((1960, 2000)) for _ in range(self.rng.choice((1, 2, 2, 2)))]
        children = [self.person((2008, 2023)) for _ in range(self.rng.choice((0, 0, 1, 2, 3)))]
        elderly = [self.person((1935, 1958)) for _ in range(self.rng.choice((0, 0, 1)))]
        if self.rng.random() < LONE_ELDER_SHARE:
            adults, children, elderly = [], [], [self.person((1935, 1958))]
        home_id = f"HH-{village}-{len(self.pool):05d}"
        # Only some households are already in the registry feed; the rest are found through their signals.
        return Household(
            home_id,
            town,
            village,
            self.rng.choice(self.network.grids[village]) if self.network.grids[village] else None,
            adults + children + elderly,
            registry_sent=self.rng.random() > REGISTRY_SHARE,
        )

    def _base(self, home: Household, subject: Person) -> dict:
        return {
            "subject": {"id_number": subject.id_number, "name": subject.name},
            "area": {"town": home.town, "village": home.village, "grid": home.grid},
        }

    def _registry(self, home: Household) -> list[tuple[str, dict]]:
        """The household registry's records of every member, sent the first time a household comes up."""
        home.registry_sent = True
        return [
            (
                "department.changes",
                {
                    **self._base(home, p),
                    "type": "household.member_added",
                    "department": "public-security",
                    "household_id": home.household_id,
                },
            )
            for p in home.members
        ]

    def call(self, home: Household, category: CallCategory | None = None) -> tuple[str, dict]:
        """A hotline call about a member of the household."""
        category = category or self.rng.choices(list(CALL_WEIGHTS), weights=list(CALL_WEIGHTS.values()))[0]
        kids = [p for p in home.members if p.born.year >= 2008]
        subject = self.rng.choice(kids if category is CallCategory.CHILD_UNATTENDED and kids else home.members)
        body = {
            **self._base(home, subject),
            "caller_phone": f"13{self.rng.randrange(10**9):09d}",
            "category": category.value,
            "description": CALLER_WORDS[category][len(home.members) % len(CALLER_WORDS[category])],
            "flags": {"children": len(kids), "pregnant": self.rng.random() < 0.03},
        }
        return "hotline.calls", body

    def unidentified_call(self, home: Household) -> tuple[str, dict]:
        """A hotline call about a member of the household whom the caller knows by sight only: sex, a guess at the age, a
        description, sometimes what they are called."""
        person = self.rng.choice(home.members)
        age = (self.today - person.born).days // 365
        group = "child" if age < 18 else "elderly" if age >= 65 else "adult"
        male = int(person.id_number[16]) % 2 == 1  # the ID number's sequence digit is odd for men
        called = {"child": f"小{person.name[-1]}", "adult": person.name, "elderly": person.name[0] + ("大爷" if male else "大娘")}[group]
        category, words = self.rng.choice(UNIDENTIFIED_CALLS[group])
        subject = {
            "name": called if self.rng.random() < 0.6 else None,
            "sex": "male" if male else "female",
            "approximate_age": max(0, age + self.rng.choice((-3, -2, -1, 0, 0, 1, 2, 3))),
            "description": self.rng.choice(LOOKS[group]),
        }
        body = {
            **self._base(home, person),
            "subject": {key: value for key, value in subject.items() if value is not None},
            "caller_phone": f"13{self.rng.randrange(10**9):09d}",
            "category": category.value,
            "description": words,
            "flags": {},  # the caller does not know the household
        }
        return "hotline.calls", body

    def admission(self, home: Household) -> tuple[str, dict]:
        """A hospital admission of a member."""
        kind = self.rng.choices(list(AdmissionType), weights=(4, 1, 5))[0]
        diagnosis = self.rng.choice(list(Diagnosis))
        body = {
            **self._base(home, self.rng.choice(home.members)),
            "hospital": {"code": f"H{home.town[-3:]}", "name": f"{self.register.name_of(home.town)}卫生院"},
            "admission_type": kind.value,
            "diagnosis_category": diagnosis.value,
            "estimated_cost_yuan": round(self.rng.lognormvariate(9.5, 1.0)),
            "self_pay_share": round(self.rng.uniform(0.1, 0.8), 2),
        }
        return "hospital.admissions", body

    def change(self, home: Household) -> tuple[str, dict]:
        """A department's change record about a member."""
        kind = self.rng.choices(list(CHANGE_WEIGHTS), weights=list(CHANGE_WEIGHTS.values()))[0]
        department = next(name for name, types in self.departments.departments.items() if kind in types)
        subject = self.rng.choice(home.members)
        extra = {
            "household.member_died": {"breadwinner": self.rng.random() < 0.5},
            "employment.lost": {"breadwinner": self.rng.random() < 0.4},
            "disability.certified": {"level": self.rng.randint(1, 4)},
            "lowincome.enrolled": {"programme": self.rng.choice(("lowincome", "lowincome", "extreme_poverty", "marginal"))},
            "lowincome.exited": {"programme": "lowincome"},
            "medical.large_expense": {
                "amount_yuan": round(self.rng.lognormvariate(10, 0.8)),
                "self_pay_share": round(self.rng.uniform(0.2, 0.7), 2),
            },
            "education.enrolled_college": {"grant_claimed": self.rng.random() < 0.5},
            "asset.vehicle_bought": {"value_yuan": self.rng.randrange(30_000, 300_000)},
            "asset.property_bought": {"value_yuan": self.rng.randrange(200_000, 2_000_000)},
        }.get(kind, {})
        return "department.changes", {**self._base(home, subject), "type": kind, "department": department, **extra}

    def burst(self, size: int) -> None:
        """A disaster in one town: the next `size` events are accident calls from there."""
        town = self.rng.choice(list(self.network.villages))
        homes = [h for h in (self.household() for _ in range(size * 3)) if h.town == town][:size] or [self.household()]
        self.pending += [self.call(self.rng.choice(homes), CallCategory.ACCIDENT_OR_DISASTER) for _ in range(size)]

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        return self

    def __next__(self) -> tuple[str, dict]:
        if self.pending:
            return self.pending.pop(0)
        home = self.household()
        if not home.registry_sent:
            self.pending += self._registry(home)
            return self.pending.pop(0)
        source = self.rng.choices(list(SOURCE_WEIGHTS), weights=list(SOURCE_WEIGHTS.values()))[0]
        # Drawn only when asked for, so a seed's sequence without such calls stays what it was.
        if source == "hotline" and self.unidentified_calls and self.rng.random() < self.unidentified_calls:
            return self.unidentified_call(home)
        return {"hotline": self.call, "hospital": self.admission, "department": self.change}[source](home)
