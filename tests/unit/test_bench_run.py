"""The benchmark's report: figure names and verdicts."""

from streams.devtools.bench.run import count_label, report


def test_household_counts_are_named_as_the_figures_name_them():
    assert [count_label(n) for n in (10_000, 100_000, 1_000_000, 30_000_000)] == ["10k", "100k", "1m", "30m"]


def test_the_report_marks_each_target_met_or_missed():
    lines = report({"ratio": 0.2, "e2e_p99_ms": 100.0, "worker_rss_mb_1m": 12_000, "settings": {}}).splitlines()
    assert lines[1].endswith(">= 1.0  MISSED")
    assert lines[2].endswith("<= 250  met")
    assert lines[3].split() == ["worker_rss_mb_1m", "12000"]
