"""What RapidAid can tell an officer about a household's likely entitlements (多事一核: one check, several aids)."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Verdict(StrEnum):
    """How a programme's conditions stand on what RapidAid knows: advice, never a decision."""

    LIKELY = "likely"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


class Fact(BaseModel):
    """One known fact behind a verdict, as a catalogue code and the values its text names."""

    code: str
    params: dict[str, Any] = Field(default_factory=dict)


class ProgrammeAdvice(BaseModel):
    """One programme's verdict, the facts behind it and what is missing to decide."""

    programme: str = Field(description="lowincome, extreme_poverty, marginal, temporary, serious_illness, education")
    verdict: Verdict
    facts: list[Fact] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="catalogue codes of what an officer must still find out")
