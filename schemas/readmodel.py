"""Redis key layout of the read model, shared by the projection (writer) and the API (reader)."""

PREFIX = "ra:"
LIVE_STREAM = PREFIX + "live"
STATS = PREFIX + "stats"
OPEN_CASES = PREFIX + "cases:open"
CLOSED_CASES = PREFIX + "cases:closed"
DEADLETTERS = PREFIX + "deadletters"
DEADLETTERS_KEPT = 1000
INDEXED_FIELDS = ("status", "tier", "priority", "town", "village", "track", "stage")


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


def event_key(event_id: str) -> str:
    """Hash holding the processing result of one intake event."""
    return f"{PREFIX}event:{event_id}"


def idempotency_key(principal: str, key: str) -> str:
    """The event id an Idempotency-Key already produced for this client."""
    return f"{PREFIX}idem:{principal}:{key}"
