"""Prometheus metrics of the API: its own request counters plus system figures read from the read model."""

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

registry = CollectorRegistry()
requests_total = Counter("rapidaid_api_requests_total", "HTTP requests answered", ["method", "route", "status"], registry=registry)
request_seconds = Histogram("rapidaid_api_request_seconds", "HTTP request duration", ["method", "route"], registry=registry)
intake_accepted = Counter("rapidaid_intake_accepted_total", "Intake events handed to Kafka by the API", ["source"], registry=registry)

# counter name in the read model's stats hash → (metric, help, label names)
_COUNTERS = {
    "events": ("rapidaid_events_total", "Input events processed into a case or the household timeline, by source", ["source"]),
    "signals": ("rapidaid_signals_total", "Signals by outcome: opened a case, attached to one, or recorded only", ["outcome"]),
    "cases_opened": ("rapidaid_cases_opened_total", "Cases opened", ["priority", "track"]),
    "deadletters": ("rapidaid_deadletters_total", "Inputs dead-lettered, by source topic", ["topic"]),
    "escalations": ("rapidaid_escalations_total", "Escalations, by tier notified", ["tier"]),
    "case_events": ("rapidaid_case_events_total", "Case events projected, by type", ["type"]),
}


class ReadModelCollector:
    """Turns the latest snapshot of GET /v1/stats into Prometheus families at scrape time."""

    def __init__(self) -> None:
        self.snapshot: dict | None = None

    def collect(self):
        """Yield the metric families of the latest snapshot."""
        if self.snapshot is None:
            return
        families = {prefix: CounterMetricFamily(name, help_, labels=labels) for prefix, (name, help_, labels) in _COUNTERS.items()}
        for field, value in self.snapshot["counters"].items():
            prefix, _, rest = field.partition(":")
            if prefix in families:
                families[prefix].add_metric(rest.split(":"), value)
        yield from families.values()
        by_colour = GaugeMetricFamily("rapidaid_open_cases", "Open cases by colour", labels=["colour"])
        for colour, count in self.snapshot["open_by_colour"].items():
            by_colour.add_metric([colour], count)
        yield by_colour
        by_tier = GaugeMetricFamily("rapidaid_open_cases_by_tier", "Open cases by the tier watching them", labels=["tier"])
        for tier, count in self.snapshot["open_by_tier"].items():
            by_tier.add_metric([tier], count)
        yield by_tier


read_model = ReadModelCollector()
registry.register(read_model)
