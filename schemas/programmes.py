"""What RapidAid can tell an officer about a household's likely entitlements (多事一核: one check, several aids)."""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

# The programmes checked together, in the order an officer reads them (seed 002's 五合一, plus education aid).
PROGRAMMES = ("lowincome", "extreme_poverty", "marginal", "temporary", "serious_illness", "education")
ProgrammeName = Literal[PROGRAMMES]


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

    programme: ProgrammeName
    verdict: Verdict
    facts: list[Fact] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="catalogue codes of what an officer must still find out")


class ProgrammeText(BaseModel):
    """One programme's advice in a reader's language, for the API and the pages."""

    programme: ProgrammeName
    name: str
    verdict: Verdict
    verdict_text: str
    facts: list[str]
    missing: list[str]
