"""The move's estimate: the last recorded move scaled by rows, else the default rate (no server)."""
from __future__ import annotations

import pytest

from migrator.move.estimate import DEFAULT_ROW_SECONDS, estimate_move, last_recorded_move, move_event


def test_without_a_recorded_move_the_default_rate():
    seconds, how = estimate_move([("access_log", 1_000_000), ("harbor_user", 5_000)], last_recorded_move([]))
    assert how == "default rate" and seconds == pytest.approx(1_005_000 * DEFAULT_ROW_SECONDS)


def test_a_recorded_move_scaled_by_rows():
    event = move_event({"access_log": 10.0, "harbor_user": 0.5}, {"access_log": 1_000_000, "harbor_user": 5_000,
                                                                   "project": 0}, seconds=12.5)
    assert event["finish_seconds"] == pytest.approx(2.0) and event["rows"] == 1_005_000
    recorded = last_recorded_move([{"event": "run_start"}, event])
    seconds, how = estimate_move([("access_log", 2_000_000), ("harbor_user", 5_000), ("admin_job", 100)], recorded)
    # twice the log, the same users, a table never timed at the default rate, the finish by all rows
    expected = 20.0 + 0.5 + 100 * DEFAULT_ROW_SECONDS + 2.0 * 2_005_100 / 1_005_000
    assert how == "journal" and seconds == pytest.approx(expected)


def test_a_resumed_move_keeps_the_earlier_timings_of_the_tables_it_kept():
    first = move_event({"harbor_user": 1.0, "access_log": 4.0}, {"harbor_user": 100, "access_log": 400}, seconds=5.5)
    resumed = move_event({"access_log": 8.0}, {"harbor_user": 100, "access_log": 400}, seconds=9.0)
    recorded = last_recorded_move([first, {"event": "move_done", "tables": "cut"}, resumed])
    assert recorded is not None
    assert recorded.tables == {"harbor_user": (1.0, 100), "access_log": (8.0, 400)}
    assert recorded.finish_seconds == pytest.approx(1.0)   # the latest move's
