"""What each reader is shown of a case document: the caller's phone only to the officers who must call back."""

from api.auth import Principal
from schemas.ids import mask_phone


def case_for(principal: Principal, case: dict) -> dict:
    """The case as this reader may see it: phones in full for officers of its area, masked for everyone else."""
    reports = case.get("reports")
    if not reports or (principal.kind == "officer" and principal.may_see(case)):
        return case
    masked = [{**report, "phone": mask_phone(report["phone"])} if report.get("phone") else report for report in reports]
    return {**case, "reports": masked}
