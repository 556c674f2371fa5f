"""Recorded timings feed the estimates per (revision, operation): the same operation name in two
steps (every step's default Converge of a table) keeps two timings. No server needed."""
from __future__ import annotations

from collections import Counter

from migrator.chain.estimate import Rates, estimate_op, journal_rates
from migrator.chain.steps import STEPS
from migrator.safety.journal import Journal

RATES = Rates(2e-6, 3e-6, 100.0, "default")


def _shared_name() -> tuple[str, str, str]:
    """An operation name two revisions of the chain both have, and those two revisions."""
    seen = Counter(op.name for step in STEPS.values() for op in step.ops)
    name = next(n for n, k in seen.items() if k > 1)
    first, second = [r for r, step in STEPS.items() if any(op.name == name for op in step.ops)][:2]
    return name, first, second


def test_the_chain_repeats_operation_names():
    name, first, second = _shared_name()
    assert first != second and name


def test_each_revision_estimates_from_its_own_recorded_timing(tmp_path):
    name, first, second = _shared_name()
    journal = Journal(directory=tmp_path, key="db-under-test")
    journal({"event": "op_done", "revision": first, "op": name, "seconds": 2.0, "rows": 1000})
    journal({"event": "op_done", "revision": second, "op": name, "seconds": 8.0, "rows": 1000})
    recorded = journal_rates(journal)
    assert recorded == {(first, name): (2.0, 1000), (second, name): (8.0, 1000)}
    assert estimate_op("converge", True, first, name, 2000, 100.0, RATES, recorded) == (4.0, "journal")
    assert estimate_op("converge", True, second, name, 500, 100.0, RATES, recorded) == (4.0, "journal")


def test_the_last_run_wins_and_other_revisions_fall_back_to_the_rates(tmp_path):
    name, first, second = _shared_name()
    journal = Journal(directory=tmp_path, key="db-under-test")
    journal({"event": "op_done", "revision": first, "op": name, "seconds": 2.0, "rows": 1000})
    journal({"event": "op_done", "revision": first, "op": name, "seconds": 3.0, "rows": 1000})
    recorded = journal_rates(journal)
    assert estimate_op("converge", True, first, name, 1000, 100.0, RATES, recorded) == (3.0, "journal")
    seconds, how = estimate_op("converge", True, second, name, 1000, 100.0, RATES, recorded)
    assert how == "default" and seconds != 3.0
