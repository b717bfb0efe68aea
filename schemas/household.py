"""A household as officers read it: carried on the case event of every signal, projected to the read model."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.aftercare import Visit, Watch
from schemas.intake import Area, HouseholdFlags
from schemas.programmes import ProgrammeAdvice


class MemberView(BaseModel):
    """One member: the ID number only masked; the person key is the index's, not shown to readers."""

    person_key: str = Field(description="keyed hash of the ID number: what an ID-number search matches")
    id_masked: str = ""
    name: str = ""
    age: int
    sex: Literal["male", "female"] | None = None
    registered: bool = False
    breadwinner: bool = False
    deceased: bool = False
    employed: bool | None = None
    severe_disability: bool = False


class HouseholdView(BaseModel):
    """What RapidAid knows of a household after a signal, versioned so the projection applies each version once."""

    household_id: str
    version: int = Field(description="household version: one more for every signal that changed it")
    area: Area | None = Field(default=None, description="where its latest signal happened")
    areas: list[Area] = Field(default_factory=list, description="every place its signals happened, oldest first: who may read it")
    members: list[MemberView] = Field(default_factory=list)
    programme: str | None = Field(default=None, description="social-assistance enrolment: lowincome, extreme_poverty, marginal")
    assets: list[str] = Field(default_factory=list, description="asset purchases on record")
    reported: HouseholdFlags = Field(default_factory=HouseholdFlags, description="vulnerabilities callers and senders reported")
    dependants: int = Field(default=0, description="children and elderly members (or children reported)")
    working: int = Field(default=0, description="members of working age")
    dependency_ratio: float | None = Field(default=None, description="dependants per working-age member; none without either")
    signals_total: int = 0
    signals_by_source: dict[str, int] = Field(default_factory=dict)
    last_signal_at: datetime | None = None
    caller_keys: list[str] = Field(default_factory=list, description="keyed hashes of callers' phones: what a phone search matches")
    programmes: list[ProgrammeAdvice] = Field(default_factory=list, description="one check, several aids: advice for the officer")
    visits: list[Visit] = Field(default_factory=list, description="visits and call-backs due, then the latest done")
    watch: Watch | None = Field(default=None, description="分级分类探访: why the household is visited on a cadence")
