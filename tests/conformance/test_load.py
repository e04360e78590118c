"""Load mode: the figures of one stream, the percentiles, and `--load 50` against the reference."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gate_runs import LOAD_STREAMS, load_run

from conformance.cli import main
from conformance.load import LOAD_CHECK_IDS, LoadSettings, load_checks, percentiles, stream_figures
from conformance.recorder import EndKind, Recording, Timed
from conformance.report.json_report import validate_report
from conformance.wire import Event

EVENT = "billing.invoice-send-progress"


def _recording(
    events: list[tuple[float, str]],
    *,
    end: EndKind | None = EndKind.CLEAN_EOF,
    end_at: float = 3.1,
    status: int | None = 200,
) -> Recording:
    """Times in seconds since the request; the headers arrive at 0.1 s."""
    recording = Recording("http://127.0.0.1:1/s", {}, status=status, headers_at=0.1)
    recording.items = [Timed(at, Event(name, "{}", None, "", None, ())) for at, name in events]
    recording.end, recording.end_at = end, end_at
    return recording


def _figures(recording: Recording, held_s: float = 3.0) -> Any:
    return stream_figures(0, recording, event=EVENT, heartbeat_ms=1000, held_s=held_s)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {
        "count": 100,
        "p50": 50.0,
        "p95": 95.0,
        "p99": 99.0,
        "max": 100.0,
    }
    assert percentiles([7.0]) == {"count": 1, "p50": 7.0, "p95": 7.0, "p99": 7.0, "max": 7.0}
    assert percentiles([])["p50"] is None


def test_a_stream_ended_by_its_timeout_event_is_not_dropped_and_lateness_is_per_heartbeat() -> None:
    figures = _figures(
        _recording([(0.15, EVENT), (1.2, "heartbeat"), (2.1, "heartbeat"), (3.05, "timeout")])
    )
    assert figures.snapshot_ms == 50.0
    assert figures.first_event == EVENT
    assert figures.lateness_ms == (100.0, -100.0)  # 1100 ms after the start, then 900 ms
    assert figures.planned_end == "timeout"
    assert figures.dropped is None


def test_a_stream_ended_after_a_complete_snapshot_is_not_dropped() -> None:
    recording = _recording([(0.15, EVENT)], end_at=1.0)
    recording.items[0] = Timed(0.15, Event(EVENT, '{"isComplete": true}', None, "", None, ()))
    figures = _figures(recording)
    assert figures.planned_end == "complete"
    assert figures.dropped is None
    assert figures.lateness_ms == ()  # no heartbeat was due before the planned end


def test_a_trailing_silence_counts_as_lateness() -> None:
    figures = _figures(
        _recording([(0.15, EVENT), (1.1, "heartbeat")], end=EndKind.CLOSED_BY_HARNESS, end_at=3.6)
    )
    # Let go 3500 ms after the start; the last heartbeat was at 1000 ms: 1500 ms late.
    assert figures.lateness_ms == (0.0, 1500.0)
    assert figures.dropped is None


@pytest.mark.parametrize(
    ("recording", "reason"),
    [
        (_recording([(0.15, EVENT)], end=EndKind.RESET, end_at=1.0), "reset"),
        (_recording([(0.15, EVENT)], end_at=1.0), "ended after 900 ms without a timeout"),
        (_recording([], status=503, end_at=0.2), "status 503"),
        (_recording([], status=None, end=EndKind.NOT_STARTED, end_at=0.0), "no response"),
    ],
)
def test_a_stream_that_ends_early_or_never_opens_is_dropped(
    recording: Recording, reason: str
) -> None:
    dropped = _figures(recording).dropped
    assert dropped is not None
    assert dropped.startswith(reason)


def test_load_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LoadSettings(0)
    with pytest.raises(ValueError, match="positive"):
        LoadSettings(5, 0.0)
    assert tuple(c.id for c in load_checks(LoadSettings(3))) == LOAD_CHECK_IDS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--load", "0"], "--load must be at least 1"),
        (["--load-duration", "2"], "--load-duration needs --load N"),
        (["--load", "5", "--load-duration", "-1"], "--load-duration must be positive"),
        (["--select", "load.*"], "the load.* checks run only in load mode: add --load N"),
    ],
)
def test_bad_load_options_are_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--reference", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "starting" not in err


def test_fifty_streams_against_the_reference_are_judged_with_percentiles() -> None:
    run = load_run()
    report = run.report
    assert validate_report(report) == []
    checks = {c["id"]: c for c in report["checks"]}
    assert list(checks) == ["load.snapshots", "load.heartbeat-lateness", "load.no-drop"]
    metrics = {
        "load.snapshots": ["snapshotLatency", "headers"],
        "load.heartbeat-lateness": ["heartbeatLateness"],
        "load.no-drop": ["headers"],
    }
    for check_id, check in checks.items():
        observed = check["observed"]
        assert observed["streams"] == LOAD_STREAMS
        assert list(observed["percentilesMs"]) == metrics[check_id]
        for metric, row in observed["percentilesMs"].items():
            assert row["p50"] <= row["p95"] <= row["p99"] <= row["max"], (metric, row)
    assert checks["load.no-drop"]["observed"]["percentilesMs"]["headers"]["count"] == LOAD_STREAMS
    # Three heartbeats or so per stream (timeoutMs 3000, heartbeatMs 1000): all of them judged.
    lateness = checks["load.heartbeat-lateness"]["observed"]["percentilesMs"]["heartbeatLateness"]
    assert lateness["count"] >= 2 * LOAD_STREAMS
    # Every stream got its snapshot (the reference never misses one, whatever the timing).
    assert checks["load.snapshots"]["observed"]["percentilesMs"]["snapshotLatency"]["count"] == (
        LOAD_STREAMS
    )
    assert checks["load.no-drop"]["verdict"] == "PASS", run.explain()
    assert checks["load.no-drop"]["observed"]["dropped"] == 0
    # The two chosen streams are in the transcripts, with their heartbeats.
    assert {"load-worst-heartbeat", "load-slowest-snapshot"} <= set(report["transcripts"])
    worst = report["transcripts"]["load-worst-heartbeat"]
    assert any(line.get("event") == "heartbeat" for line in worst["lines"])
    verdicts = {c["verdict"] for c in checks.values()}
    assert run.exit_code == (1 if "FAIL" in verdicts else 0), run.explain()


def test_a_load_run_is_partial_in_every_report() -> None:
    run = load_run()
    report = run.report
    assert report["settings"]["partial"] is True
    assert report["summary"]["conformant"] is False
    assert len(report["settings"]["excluded"]) > 50
    label = "partial run: no failures" if run.exit_code == 0 else "partial run: not conformant"
    assert f"-> exit {run.exit_code} (" in run.stdout
    assert "partial run, " in run.stdout
    assert run.text("markdown").splitlines()[0].endswith(f"ssegate: {label}")
    assert "| load.heartbeat-lateness | heartbeatLateness |" in run.text("markdown")
    assert f"<title>ssegate: {label}</title>" in run.text("html")
    assert '<testsuite name="ssegate (partial)"' in run.text("junit")
    assert json.loads(json.dumps(report))["settings"]["partial"] is True
