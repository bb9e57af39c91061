"""The Grafana dashboard asks only for metrics the services export, and shows the ones an
operator needs to see a stalled flow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from rescue_shared.observability.metrics import ServiceMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "rescue-dashboard.json"
# Grafana's own variables, replaced by a duration before PromQL parses the expression.
GRAFANA_DURATIONS = re.compile(r"\$__(?:rate_interval|interval|range)\b")
SAMPLE_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum",
                                                                    "_created"),
                   "summary": ("_count", "_sum", "_created"), "info": ("_info",),
                   "gauge": ("",), "unknown": ("",)}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects; ValueError when it is not valid PromQL."""
    selectors: list[promql_parser.VectorSelector] = []

    def collect(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            selectors.append(node)

    promql_parser.walk(promql_parser.parse(GRAFANA_DURATIONS.sub("5m", expr)), collect)
    assert all(s.name for s in selectors), f"a selector without a metric name in {expr!r}"
    return {s.name for s in selectors}


def exported_sample_names() -> set[str]:
    """Every sample name a service's /metrics can show (families without samples yet count)."""
    names = set()
    for family in ServiceMetrics().registry.collect():
        names |= {family.name + suffix for suffix in SAMPLE_SUFFIXES[family.type]}
        names |= {sample.name for sample in family.samples}
    return names


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(board: dict[str, Any]) -> Iterator[str]:
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            # Grafana's label_values(metric, label) is not PromQL: keep its metric.
            yield re.sub(r"label_values\(\s*([^,]+),.*\)", r"\1", variable["query"]["query"])


@pytest.mark.parametrize(("expr", "names"), [
    ('sum by (job, le) (rate(http_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval]))',
     {"http_request_duration_seconds_bucket"}),
    ("a_total / on (job) group_left b_info offset 5m", {"a_total", "b_info"}),
    ('histogram_quantile(0.95, x_bucket{le="0.5",route!~"/metrics"}) > 1e3', {"x_bucket"}),
])
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names


def test_invalid_promql_is_refused() -> None:
    with pytest.raises(ValueError):
        promql_metric_names("sum(rate(http_requests_total[$__rate_interval])")


def test_every_queried_metric_is_exported() -> None:
    queried = set().union(*(promql_metric_names(q) for q in queries(dashboard())))
    assert queried - exported_sample_names() == set()


def test_the_dashboard_shows_what_reveals_a_stalled_or_failing_flow() -> None:
    queried = set().union(*(promql_metric_names(q) for q in queries(dashboard())))
    assert {"http_requests_total", "http_request_duration_seconds_bucket",
            "consumer_lag_messages", "outbox_backlog_messages",
            "outbox_oldest_unpublished_age_seconds", "events_dead_lettered_total",
            "event_handler_duration_seconds_bucket", "process_resident_memory_bytes",
            "process_cpu_seconds_total"} <= queried


def test_panels_are_well_formed_and_do_not_overlap() -> None:
    board = dashboard()
    assert board["uid"] and board["schemaVersion"] >= 36
    all_panels = list(panels(board))
    assert len({p["id"] for p in all_panels}) == len(all_panels)
    cells: set[tuple[int, int]] = set()
    for panel in all_panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not mine & cells, f"panel {panel['title']!r} overlaps another"
        cells |= mine
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"] and len({t["refId"] for t in panel["targets"]}) == len(
                panel["targets"])
