"""Redis key layout of the read model, shared by the projection (writer) and the API (reader)."""

from datetime import datetime

from schemas.aftercare import VISIT_ENDED

PREFIX = "ra:"
LIVE_STREAM = PREFIX + "live"
STATS = PREFIX + "stats"
OPEN_CASES = PREFIX + "cases:open"
CLOSED_CASES = PREFIX + "cases:closed"
DEADLETTERS = PREFIX + "deadletters"
DEADLETTERS_KEPT = 1000
# Present only while the read model holds everything the log holds: a Redis that restarted empty lacks it, so
# projections refuse to write, readiness says no, and a worker rebuilds from the log before anything moves on.
COMPLETE = PREFIX + "complete"
REBUILDING = PREFIX + "rebuilding"  # held by the one worker rebuilding
# Who read which case: a capped stream written by the API on every read of a case (an audit record, not a projection).
ACCESS_LOG = PREFIX + "access"
ACCESS_LOG_KEPT = 100_000
INDEXED_FIELDS = ("status", "tier", "priority", "town", "village", "track", "stage")


# What a household's page and search results show of each of its cases (the whole document holds every report).
CASE_SUMMARY_FIELDS = (
    "case_id", "household_id", "status", "stage", "priority", "track", "category", "urgency", "area", "subject", "opened_at",
    "closed_at", "outcome", "tier", "merged_into", "identity_verified",
)  # fmt: skip


def case_summary(case: dict) -> dict:
    """The few fields of a case document shown in a household's list of cases."""
    return {field: case.get(field) for field in CASE_SUMMARY_FIELDS}


def index_value(case: dict, field: str) -> str:
    """The value a case document is indexed under for a field."""
    return case["area"][field] if field in ("town", "village") else case[field]


def case_key(case_id: str) -> str:
    """Hash holding a case document and its indexed fields."""
    return f"{PREFIX}case:{case_id}"


def timeline_key(case_id: str) -> str:
    """List of a case's events in order."""
    return f"{PREFIX}case:{case_id}:timeline"


def index_key(field: str, value: str) -> str:
    """Set of case ids whose field has the value (status, tier, priority, town, track)."""
    return f"{PREFIX}idx:{field}:{value}"


def household_key(household_id: str) -> str:
    """Hash holding a household's view (doc), its version, last activity, and the tokens and areas it is indexed under."""
    return f"{PREFIX}household:{household_id}"


# Own prefixes rather than suffixes of the household's key: a household id may itself contain ':'.
def household_timeline_key(household_id: str) -> str:
    """Sorted set of a household's signals and case events, scored by when they happened (epoch ms)."""
    return f"{PREFIX}hh-timeline:{household_id}"


def household_cases_key(household_id: str) -> str:
    """Sorted set of the household's case ids (open and closed), scored by opening time."""
    return f"{PREFIX}hh-cases:{household_id}"


def search_key(token: str) -> str:
    """Sorted set of the households a search token finds (streams.rules.search), scored by their last activity (epoch ms)."""
    return f"{PREFIX}sx:{token}"


def households_in_key(field: str, code: str) -> str:
    """Set of the households whose signals happened in a town or village (field town or village): what its officers search."""
    return f"{PREFIX}hh-in:{field}:{code}"


VISIT_GROUPS = {"follow_up": "follow_ups", "callback": "follow_ups", "watch": "watch"}


def visits_due_key(group: str, field: str | None = None, code: str | None = None) -> str:
    """Households with visits of a group (follow_ups, watch) due, by the earliest due time: in an area, or in all (no field)."""
    return f"{PREFIX}visits:{group}:" + (f"{field}:{code}" if field else "all")


def visit_index(view: dict) -> dict[str, int]:
    """The visit indexes (keys without the prefix, as the projection's script takes them) a household view belongs in, each
    with its earliest due time (epoch ms)."""
    earliest: dict[str, int] = {}
    for visit in view.get("visits", ()):
        if visit["status"] in VISIT_ENDED:
            continue
        group = VISIT_GROUPS[visit["kind"]]
        due_ms = int(datetime.fromisoformat(visit["deadline"]["due_at"]).timestamp() * 1000)
        earliest[group] = min(earliest.get(group, due_ms), due_ms)
    area = view.get("area")
    keys = {}
    for group, due_ms in earliest.items():
        places = [(None, None), *((field, area[field]) for field in ("town", "village") if area)]
        keys |= {visits_due_key(group, field, code).removeprefix(PREFIX): due_ms for field, code in places}
    return keys


# Referrals (转办转介): each a sorted set of referral ids by referral time (epoch ms). A referral id names its case
# (R{n}-{case_id}), so the id is the index from referral to case; these sets are who may read which.
def partner_referrals_key(partner: str) -> str:
    """The referrals made to one partner."""
    return f"{PREFIX}referrals:partner:{partner}"


def area_referrals_key(field: str | None = None, code: str | None = None) -> str:
    """The referrals of cases in a town or village (field town or village), or of the county (no field)."""
    return f"{PREFIX}referrals:" + (f"{field}:{code}" if field else "all")


def referral_keys(case: dict, partner: str) -> list[str]:
    """Every referral set a referral of the case to the partner belongs in."""
    area = case["area"]
    return [partner_referrals_key(partner), area_referrals_key(), *(area_referrals_key(f, area[f]) for f in ("town", "village"))]


def event_key(event_id: str) -> str:
    """Hash holding the processing result of one intake event."""
    return f"{PREFIX}event:{event_id}"


# Record header of an API-written input event: the [key, value, ttl_s] it claimed in Redis (its Idempotency-Key, its
# client event id's digest), so a rebuild after a Redis loss restores them from the log.
CLAIMS_HEADER = "rapidaid-claims"


def idempotency_key(principal: str, key: str) -> str:
    """The request digest and event id an Idempotency-Key already produced for this client ("digest event_id")."""
    return f"{PREFIX}idem:{principal}:{key}"


# Content digests of accepted event ids: the API's and intake's memory of what each id was used for, not a projection.
EVENT_DIGESTS = PREFIX + "event-digest:"
RECORD_DIGESTS = PREFIX + "record-digest:"


def event_digest_key(event_id: str) -> str:
    """The content digest of the request that claimed a client-chosen event id at the API."""
    return EVENT_DIGESTS + event_id


def record_digest_key(event_id: str) -> str:
    """Intake's claim on an event id: the content digest of the first record carrying it, then where intake sent it."""
    return RECORD_DIGESTS + event_id


def route_claim(digest: str, household_id: str, received_ms: int) -> str:
    """The claim value of an event id once intake has routed it: its digest, its household and when it was received."""
    return f"{digest} {household_id} {received_ms}"


def parse_claim(claim: str) -> tuple[str, tuple[str, int] | None]:
    """A claim's digest, and its (household id, received ms) once routed (None while only the digest is claimed)."""
    digest, *route = claim.split(" ")
    return digest, (route[0], int(route[1])) if len(route) == 2 else None


# Each worker's readiness report (hash field = worker id): the partitions it holds and can process now.
WORKERS = PREFIX + "workers"
WORKER_REPORT_TTL_S = 5.0
# Which topics each consumer group of the worker must hold every partition of before a call can be processed.
WORKER_GROUPS = {
    "triage": ("aid.signals", "aid.case-commands"),
    "intake": ("hotline.calls", "hospital.admissions", "department.changes", "aid.identifications"),
}


def uncovered(reports: list[dict], partitions: int, now: float) -> list[str]:
    """The 'topic:partition's no fresh worker report holds, per what each group must hold (empty: ready)."""
    held = {tp for report in reports if now - report["at"] <= WORKER_REPORT_TTL_S for tps in report["groups"].values() for tp in tps}
    return [
        f"{topic}:{p}" for topics in WORKER_GROUPS.values() for topic in topics for p in range(partitions) if f"{topic}:{p}" not in held
    ]


# The monthly report (月调度、季通报): per China-time month, a hash of report facts (streams.rules.report), one field an event.
def report_key(month: str) -> str:
    """Hash of the report facts counted in a month ('2026-11'), each field naming the event it came from."""
    return f"{PREFIX}report:{month}"
