"""The worker's own Prometheus metrics, served on RAPIDAID_METRICS_PORT."""

from faust.sensors import Monitor
from faust.sensors.prometheus import MS_LATENCY_BUCKETS, FaustMetrics, PrometheusMonitor
from prometheus_client import CollectorRegistry, Counter, Histogram

from schemas import topics
from schemas.case import CaseEvent, CaseEventType

registry = CollectorRegistry()
SOURCES = {
    topics.HOTLINE_CALLS: "hotline",
    topics.HOSPITAL_ADMISSIONS: "hospital",
    topics.DEPARTMENT_CHANGES: "department",
    topics.IDENTIFICATIONS: "identification",
}
MINUTE = 60

events_in = Counter("rapidaid_worker_events_in_total", "Input events read by intake, by source", ["source"], registry=registry)
validation_failures = Counter(
    "rapidaid_worker_validation_failures_total",
    "Events dead-lettered, by source topic and kind of reason",
    ["topic", "reason"],
    registry=registry,
)
signals = Counter(
    "rapidaid_worker_signals_total", "Signals by outcome: opened a case, attached to one, or recorded only", ["outcome"], registry=registry
)
cases_opened = Counter("rapidaid_worker_cases_opened_total", "Cases opened", ["priority", "track"], registry=registry)
escalations = Counter("rapidaid_worker_escalations_total", "Escalations, by tier notified", ["tier"], registry=registry)
sla_breaches = Counter(
    "rapidaid_worker_sla_breaches_total", "Cases turned red, by the deadline missed", ["deadline", "priority", "town"], registry=registry
)
time_to_acknowledge = Histogram(
    "rapidaid_worker_time_to_acknowledge_seconds",
    "Opening to acknowledgement",
    buckets=(MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 20 * MINUTE, 30 * MINUTE, 45 * MINUTE, 60 * MINUTE, 120 * MINUTE, 240 * MINUTE),
    registry=registry,
)
time_to_aid = Histogram(
    "rapidaid_worker_time_to_aid_seconds",
    "Opening to aid delivered",
    buckets=(
        15 * MINUTE,
        30 * MINUTE,
        60 * MINUTE,
        90 * MINUTE,
        120 * MINUTE,
        150 * MINUTE,
        180 * MINUTE,
        240 * MINUTE,
        480 * MINUTE,
        1440 * MINUTE,
    ),
    registry=registry,
)
processing_latency = Histogram(
    "rapidaid_worker_processing_latency_seconds",
    "From an input's report time to its case event",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=registry,
)
produce_errors = Counter(
    "rapidaid_worker_produce_errors_total", "Failed attempts to write a batch's records to Kafka, by kind", ["kind"], registry=registry
)
projection_errors = Counter(
    "rapidaid_worker_projection_errors_total", "Failed Redis projection attempts, by kind", ["kind"], registry=registry
)
view_failures = Counter(
    "rapidaid_worker_household_view_failures_total",
    "Household views not built (a bug in the view rules): the case events went out without one",
    registry=registry,
)
ledger_passed_over = Counter(
    "rapidaid_worker_ledger_passed_over_total",
    "Messages triage's ledger passed over: repeats of processed ones, or fetched under an earlier consumer generation",
    ["reason"],
    registry=registry,
)
ledger_gaps = Counter(
    "rapidaid_worker_ledger_gaps_total",
    "Batches in which a partition stopped at a missing offset (a message not delivered)",
    registry=registry,
)
ledger_rereads = Counter(
    "rapidaid_worker_ledger_rereads_total", "Stalled partitions with records waiting, read again from their next offset", registry=registry
)
SIGNAL_OUTCOMES = {CaseEventType.OPENED: "opened", CaseEventType.SIGNAL_ATTACHED: "attached", CaseEventType.SIGNAL_RECORDED: "recorded"}
ACKNOWLEDGING = (CaseEventType.ACKNOWLEDGED, CaseEventType.ASSIGNED, CaseEventType.AID_DELIVERED)


def observe(events: list[CaseEvent]) -> None:
    """Count what the case events say happened."""
    for event in events:
        case = event.case
        outcome = SIGNAL_OUTCOMES.get(event.type)
        if outcome:
            signals.labels(outcome).inc()
            processing_latency.observe(max(0.0, (event.at - event.data["reported_at"]).total_seconds()))
        if case is None:
            continue
        if event.type is CaseEventType.OPENED:
            cases_opened.labels(case.priority, case.track).inc()
        elif event.type is CaseEventType.ESCALATED:
            escalations.labels(case.tier).inc()
        elif event.type is CaseEventType.STATUS_CHANGED and case.status == "red":
            sla_breaches.labels(event.data["deadline"], case.priority, case.area.town).inc()
        # A case reopened after a dissatisfied call-back has a supervision deadline and no acknowledge deadline.
        acknowledge = case.deadlines.get("acknowledge")
        if event.type in ACKNOWLEDGING and acknowledge is not None and acknowledge.met_at == event.at:
            time_to_acknowledge.observe((event.at - case.opened_at).total_seconds())
        if event.type is CaseEventType.AID_DELIVERED:
            time_to_aid.observe((event.at - case.opened_at).total_seconds())


class FaustSensors(PrometheusMonitor):
    """Faust's own Prometheus sensors (messages, commits, rebalances, end and committed offsets per partition: lag), with a
    stream's time over an event in seconds: Faust's histogram of it is named in milliseconds, which Prometheus' naming
    rules (and promtool's check of a scrape) refuse."""

    def on_stream_event_out(self, tp, offset, stream, event, state=None) -> None:
        Monitor.on_stream_event_out(self, tp, offset, stream, event, state)
        self._metrics.total_active_events.dec()
        if state is not None:
            self._metrics.events_runtime_latency.observe(self.events_runtime[-1])


def faust_sensors(registry: CollectorRegistry) -> FaustSensors:
    """Faust's sensors, named rapidaid_faust_*, in the registry."""
    faust_metrics = FaustMetrics.create(registry, "rapidaid_faust")
    registry.unregister(faust_metrics.events_runtime_latency)
    runtime = Histogram(
        "rapidaid_faust_events_runtime_seconds",
        "Time a stream took over an event",
        registry=registry,
        buckets=tuple(ms / 1000 for ms in MS_LATENCY_BUCKETS),
    )
    return FaustSensors(metrics=faust_metrics._replace(events_runtime_latency=runtime))
