"""Text and JSON renderers: results on stdout, never a secret."""
from __future__ import annotations

import json
import sys
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def err(message: str) -> None:
    """A progress/log line on stderr."""
    click.echo(message, err=True)


def echo_checks(checks, indent: str = "  ", details: int = 10) -> None:
    """Each check's line, and under it the first ``details`` of its details."""
    for c in checks:
        click.echo(indent + c.line())
        for d in c.details[:details]:
            click.echo(f"{indent}       {d}")


def echo_step_timings(done_steps, planned_steps) -> None:
    """Each step's measured seconds beside the plan's estimate for its revision."""
    for step in done_steps:
        est = next((s.seconds for s in planned_steps if s.revision == step.revision), 0.0)
        click.echo(f"  step {step.revision}: {step.seconds:.2f}s (estimated {est:.2f}s)")


def status_text(st) -> str:
    lines = [
        f"database:  {st.database}",
        f"server:    {st.server}",
        f"revision:  {st.start or '?'} (Harbor {st.releases})" if st.start else "revision:  unknown",
        f"declared:  {st.declared if st.declared is not None else '(no alembic_version row)'}",
        f"schema:    closest to {st.detected} (fingerprint distance {st.distances[st.detected]})",
        f"state:     {st.state} — {st.message}",
    ]
    if st.leftovers:
        lines.append(f"leftovers: {', '.join(st.leftovers)} (harbor-migrate's own; upgrade removes them)")
    if st.pending:
        lines.append("to do:")
        lines += [f"  - {p}" for p in st.pending]
    if st.drift:
        lines.append(f"drift ({len(st.drift)}):")
        lines += [f"  - {d}" for d in st.drift]
    else:
        lines.append("drift:     none")
    return "\n".join(lines)


def is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
