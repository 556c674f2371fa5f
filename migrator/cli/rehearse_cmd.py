"""``harbor-migrate rehearse``: the upgrade on a throwaway copy, with real timings."""
from __future__ import annotations

import click

from .. import api
from .options import connection_options, json_option
from .render import echo_step_timings, emit_json, err


@click.command("rehearse")
@connection_options
@click.option("--snapshot", type=click.Path(), help="Rehearse from this snapshot (default: snapshot the live "
                                                   "database given by the connection options first).")
@click.option("--snapshot-dir", type=click.Path(file_okay=False), help="Where to write that snapshot.")
@click.option("--backend", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="local: a mariadbd/mysqld binary on PATH; docker: an image matching production.")
@click.option("--image", help="Docker image (default: the production server's flavour and version, e.g. mysql:5.6).")
@click.option("--pull", is_flag=True, help="Let Docker pull the image if it is not there.")
@click.option("--keep", is_flag=True, help="Leave the throwaway server running and print how to connect.")
@click.option("--to", "target", default="1.5.2", show_default=True,
              help="Harbor version or revision id; 1.6.0: also a throwaway PostgreSQL, the move into it, both sides "
                   "verified.")
@json_option
def rehearse(settings, snapshot, snapshot_dir, backend, image, pull, keep, target, as_json) -> None:
    """Restore a copy on a throwaway server, then plan, upgrade and verify it, with timings.

    The timings are stored under the production database's journal, so that
    `plan` on production estimates from them. With --to 1.6.0 the upgrade moves the
    copy on into a throwaway PostgreSQL (local binaries), and the report adds the
    move's seconds per table.
    """
    if api.is_pg_target(api.resolve_target(target, postgres=True)):
        return _rehearse_to_postgres(settings, snapshot, snapshot_dir, backend, image, pull, keep, as_json)
    report = api.rehearse(snapshot=snapshot, source=None if snapshot else settings, backend=backend, image=image,
                          pull=pull, keep=keep, snapshot_dir=snapshot_dir, target=api.resolve_target(target),
                          progress=err)
    if as_json:
        emit_json(report.to_json())
        return
    click.echo(f"rehearsal on {report.server} ({report.backend}) from {report.snapshot}")
    click.echo(f"restore: {report.restore_seconds:.2f}s")
    plan = report.plan
    click.echo(f"plan estimate: {plan.seconds:.2f}s ({plan.rates_source})")
    echo_step_timings(report.upgrade.result.steps, plan.steps)
    click.echo(f"upgrade: {report.upgrade.result.seconds:.2f}s; verify: "
               f"{'consistent' if report.verify.ok else 'NOT consistent'}")
    click.echo(f"expected production downtime: {report.downtime_seconds:.1f}s "
               f"(snapshot {report.snapshot_seconds:.1f}s + upgrade)")
    if report.hint:
        click.echo(f"kept: {report.hint}")


def _rehearse_to_postgres(settings, snapshot, snapshot_dir, backend, image, pull, keep, as_json) -> None:
    report = api.rehearse_to_postgres(snapshot=snapshot, source=None if snapshot else settings, backend=backend,
                                      image=image, pull=pull, keep=keep, snapshot_dir=snapshot_dir, progress=err)
    if as_json:
        emit_json(report.to_json())
        return
    click.echo(f"rehearsal on {report.server} ({report.backend}) and {report.target_server} from {report.snapshot}")
    click.echo(f"restore: {report.restore_seconds:.2f}s")
    plan = report.plan
    click.echo(f"plan estimate: {plan.seconds:.2f}s ({plan.chain.rates_source})")
    chain = report.upgrade.mysql.result
    echo_step_timings(chain.steps if chain else [], plan.chain.steps)
    click.echo(f"upgrade: {report.chain_seconds:.2f}s; verify: {report.verify.verdict}")
    move = report.upgrade.move
    click.echo(f"move to PostgreSQL: {move.seconds:.2f}s (estimated {plan.move_seconds:.2f}s, {plan.move_estimate})")
    for table, rows in move.rows.items():
        click.echo(f"  {table}: {rows} rows, {move.table_seconds.get(table, 0.0):.2f}s")
    click.echo(f"  indexes, constraints, triggers, sequences: {report.finish_seconds:.2f}s")
    click.echo(f"verify (PostgreSQL): {report.verify_target.verdict}")
    click.echo(f"expected production downtime: {report.downtime_seconds:.1f}s "
               f"(snapshot {report.snapshot_seconds:.1f}s + upgrade + move)")
    if report.hint:
        click.echo(f"kept: {report.hint}")


COMMANDS = [rehearse]
