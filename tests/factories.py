"""Builders of valid test inputs."""

from datetime import datetime

from schemas.case import Signal, SubjectView
from schemas.ids import check_digit
from schemas.intake import Area, HouseholdFlags

AREA = {"town": "370784101", "village": "370784101201", "grid": "370784101201-03"}


def id_number(serial: int = 123, born: str = "19800101") -> str:
    """A valid resident ID number."""
    first17 = f"370784{born}{serial:03d}"
    return first17 + check_digit(first17)


def call_body(**overrides) -> dict:
    """A valid hotline call as JSON."""
    body = {
        "caller_phone": "13800000000",
        "subject": {"id_number": "370784198001011234", "name": "张三"},
        "area": dict(AREA),
        "category": "medical_emergency",
        "description": "fell from a ladder, two children at home",
        "flags": {"children": 2},
    }
    body.update(overrides)
    return body


def admission_body(**overrides) -> dict:
    """A valid hospital admission as JSON."""
    body = {
        "subject": {"id_number": "370784198001011234", "name": "张三"},
        "area": dict(AREA),
        "hospital": {"code": "AQ-PH-1", "name": "安丘市人民医院"},
        "admission_type": "icu",
        "diagnosis_category": "non_critical",
        "estimated_cost_yuan": 40000,
        "self_pay_share": 0.7,
    }
    body.update(overrides)
    return body


def change_body(change_type: str, department: str, **overrides) -> dict:
    """A valid department change as JSON."""
    body = {
        "type": change_type,
        "department": department,
        "subject": {"id_number": "370784198001011234", "name": "张三"},
        "area": dict(AREA),
    }
    body.update(overrides)
    return body


def signal(
    at: datetime,
    event_id: str = "e1",
    kind: str = "medical_emergency",
    household_id: str = "H1",
    children: int = 0,
    caller_key: str | None = "caller-1",
    person_key: str = "person-1",
    source: str = "hotline",
    age: int = 40,
    **details,
) -> Signal:
    """A normalised signal."""
    return Signal(
        event_id=event_id,
        source=source,
        kind=kind,
        household_id=household_id,
        person_key=person_key,
        caller_key=caller_key if source == "hotline" else None,
        subject=SubjectView(id_masked="3707**********1234", name="张三"),
        subject_age=age,
        area=Area(**AREA),
        flags=HouseholdFlags(children=children),
        details=details,
        occurred_at=at,
        reported_at=at,
        received_at=at,
    )


def department_signal(at: datetime, kind: str, event_id: str, person_key: str = "person-1", age: int = 40, **details) -> Signal:
    """A normalised department change signal."""
    return signal(at, event_id=event_id, kind=kind, source="department", person_key=person_key, age=age, department="test-dept", **details)


def hospital_signal(
    at: datetime, event_id: str, kind: str = "icu", cost: float = 40000, share: float = 0.7, diagnosis: str = "non_critical"
) -> Signal:
    """A normalised hospital admission signal."""
    return signal(
        at, event_id=event_id, kind=kind, source="hospital", diagnosis_category=diagnosis, estimated_cost_yuan=cost, self_pay_share=share
    )
