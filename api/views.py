"""What each reader is shown of a case document: the caller's phone only to the officers who must call back."""

from api.auth import Principal
from schemas.ids import mask_phone


def calls_back(principal: Principal, case: dict) -> bool:
    """Whether the reader is an officer of the case's area, who may see the caller's phone to call back."""
    return principal.kind == "officer" and principal.may_see(case)


def masked_case(case: dict) -> dict:
    """The case with every caller's phone masked."""
    reports = [{**report, "phone": mask_phone(report["phone"])} if report.get("phone") else report for report in case.get("reports", ())]
    return {**case, "reports": reports}


def case_for(principal: Principal, case: dict) -> dict:
    """The case as this reader may see it: phones in full for officers of its area, masked for everyone else."""
    return case if calls_back(principal, case) else masked_case(case)
