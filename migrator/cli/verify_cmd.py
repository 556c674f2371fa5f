"""``harbor-migrate verify``: schema, data, adminserver, registry, Harbor's API — one report."""
from __future__ import annotations

import click

from .. import api
from ..errors import MigratorError, UsageError
from ..settings import env_value
from . import postgres_target
from .options import connection_options, json_option
from .render import emit_json


def _secret(file: str | None, env: str, what: str) -> str | None:
    """Secrets come from a file or HARBOR_MIGRATE_<env>, never from argv."""
    if file:
        try:
            with open(file, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the {what} file {file}: {exc.strerror}") from None
    return env_value(env)


@click.command("verify")
@connection_options
@click.option("--only", multiple=True, type=click.Choice(api.SECTIONS), help="Run only this section (repeatable).")
@click.option("--snapshot", type=click.Path(), help="The pre-upgrade snapshot (manifest or dump) to compare data with "
                                                     "(default: the one this database's last upgrade took, from its "
                                                     "journal).")
@click.option("--no-snapshot", is_flag=True, help="Compare no data: schema and invariants only (the verdict says so).")
@click.option("--with-admiral", is_flag=True, help="The upgrade ran with --with-admiral.")
@click.option("--adminserver", help="Adminserver URL, e.g. http://adminserver:8080 (secret: "
                                    "--adminserver-secret-file or HARBOR_MIGRATE_ADMINSERVER_SECRET).")
@click.option("--adminserver-secret-file", type=click.Path(dir_okay=False))
@click.option("--registry", help="Registry URL, e.g. https://harbor.example.com (Harbor's token flow, basic or none).")
@click.option("--registry-user", help="User for the registry (env HARBOR_MIGRATE_REGISTRY_USER).")
@click.option("--registry-password-file", type=click.Path(dir_okay=False),
              help="Password file (or HARBOR_MIGRATE_REGISTRY_PASSWORD).")
@click.option("--harbor", help="Harbor core API URL, e.g. https://harbor.example.com.")
@click.option("--harbor-user", help="Harbor admin user (env HARBOR_MIGRATE_HARBOR_USER, default admin).")
@click.option("--harbor-password-file", type=click.Path(dir_okay=False),
              help="Password file (or HARBOR_MIGRATE_HARBOR_PASSWORD).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True),
              help="CA certificate(s) to verify the HTTPS endpoints with.")
@click.option("--insecure", is_flag=True, help="Do not verify HTTPS certificates (test instances only).")
@click.option("--harbor-db-user", help="The database account Harbor 1.5.2 (with --target-dsn: 1.6.0) uses, when "
                                       "it is not the one verifying (the adminserver section compares it).")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="Also write a Markdown report here.")
@postgres_target.target_options
@json_option
def verify(settings, only, snapshot, no_snapshot, with_admiral, adminserver, adminserver_secret_file, registry,
           registry_user, registry_password_file, harbor, harbor_user, harbor_password_file, timeout, ca_file,
           insecure, harbor_db_user, report_file, pg_target, as_json) -> None:
    """Check the upgraded database: schema, data (against the snapshot), and the live services.

    Without --snapshot, data is compared with the snapshot the last upgrade of this database
    took (named in its journal); with none, the verdict says only schema and invariants were checked.

    Exit 0 only when everything checked is consistent.
    """
    api.configure_tls(insecure=insecure, ca_file=ca_file)
    services = dict(
        harbor_db_user=harbor_db_user, adminserver=adminserver,
        adminserver_secret=_secret(adminserver_secret_file, "ADMINSERVER_SECRET", "adminserver secret"),
        registry=registry, registry_user=registry_user or env_value("REGISTRY_USER"),
        registry_password=_secret(registry_password_file, "REGISTRY_PASSWORD", "registry password"),
        harbor=harbor, harbor_user=harbor_user or env_value("HARBOR_USER"),
        harbor_password=_secret(harbor_password_file, "HARBOR_PASSWORD", "Harbor password"), timeout=timeout)
    # --target-dsn: the moved 1.6.0 database, schema and every row against this (MySQL) source, and the
    # 1.6.0 services against the target's rows
    report = api.verify_move(settings, pg_target, only=tuple(only), report_skipped=True, **services) \
        if pg_target is not None else api.verify(settings, only=tuple(only), snapshot=snapshot,
                                                 no_snapshot=no_snapshot, with_admiral=with_admiral, **services)
    if report_file:
        report.write_markdown(report_file)
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(f"verify {report.database}: {report.verdict}")
        for section, checks in report.sections.items():
            for c in checks:
                click.echo(f"{section:>11} {c.line()}")
                for d in c.details[:20]:
                    click.echo(f"{'':>18}{d}")
                if len(c.details) > 20:
                    click.echo(f"{'':>18}… {len(c.details) - 20} more (see --json or --report)")
    code = report.exit_code()
    if code:
        raise MigratorError(f"verification failed: {sum(1 for c in report.checks if c.status.value == 'fail')} "
                            "check(s) not consistent (see above)", exit_code=code)


COMMANDS = [verify]
