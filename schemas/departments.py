"""Which department may publish which change types: configuration, shared by the API and the worker."""

import re
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from schemas.intake import DEPARTMENT_CHANGE_TYPES, DEPARTMENT_PATTERN
from schemas.messages import Text

BUNDLED = "bundled"


class Departments(BaseModel):
    """Department name → the change types it may publish."""

    departments: dict[str, frozenset[str]] = Field(min_length=1)

    @field_validator("departments")
    @classmethod
    def _known_names_and_types(cls, value: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        for name, types in value.items():
            if not re.fullmatch(DEPARTMENT_PATTERN, name):
                raise ValueError(f"department name {name!r} must match {DEPARTMENT_PATTERN}")
            unknown = types - set(DEPARTMENT_CHANGE_TYPES)
            if unknown:
                raise ValueError(f"department {name!r} lists unknown change types {sorted(unknown)}")
        return value

    def refusal(self, department: str | None, change_type: str) -> Text | None:
        """Why the department may not publish this change type, or None when it may."""
        if department is None:
            return Text("error.department_missing")
        allowed = self.departments.get(department)
        if allowed is None:
            return Text("error.department_unknown", {"department": department})
        if change_type not in allowed:
            return Text("error.department_type", {"department": department, "type": change_type, "types": sorted(allowed)})
        return None


def load_departments(source: str) -> Departments:
    """Load the bundled department table or one from a TOML file path."""
    if source == BUNDLED:
        text = resources.files("schemas").joinpath("departments.toml").read_text(encoding="utf-8")
    else:
        text = Path(source).read_text(encoding="utf-8")
    return Departments.model_validate(tomllib.loads(text))
