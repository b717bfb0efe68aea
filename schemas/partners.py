"""The partners referrals go to (转办转介): configuration, shared by the API and the pages."""

import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

BUNDLED = "bundled"
PARTNER_PATTERN = r"^[a-z][a-z0-9-]{1,62}$"


class Partner(BaseModel):
    """A department, charity or social organisation that accepts referrals, by its names in Chinese and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["department", "charity", "social_organisation"]
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)


class Partners(BaseModel):
    """Partner name (as in its role, partner:<name>) → the partner."""

    partners: dict[str, Partner] = Field(min_length=1)

    @field_validator("partners")
    @classmethod
    def _names(cls, value: dict[str, Partner]) -> dict[str, Partner]:
        for name in value:
            if not re.fullmatch(PARTNER_PATTERN, name):
                raise ValueError(f"partner name {name!r} must match {PARTNER_PATTERN}")
        return value

    def listed(self) -> list[dict]:
        """The partners as the referral form lists them."""
        return [{"name": name, **partner.model_dump()} for name, partner in self.partners.items()]


@cache
def load_partners(source: str = BUNDLED) -> Partners:
    """Load the bundled partners or those of a TOML file path (read once per source)."""
    if source == BUNDLED:
        text = resources.files("schemas").joinpath("partners.toml").read_text(encoding="utf-8")
    else:
        text = Path(source).read_text(encoding="utf-8")
    return Partners.model_validate(tomllib.loads(text))
