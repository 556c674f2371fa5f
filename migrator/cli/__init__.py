"""The ``harbor-migrate`` command line: parse, call the library, render, map errors to exit codes.

``main`` is the console script; ``cli`` the click group (tests drive it with
CliRunner). No traceback reaches a user unless ``--traceback`` is given.
"""
from __future__ import annotations

import sys

import click

from ..errors import ExitCode, MigratorError
from ..settings import mask_dsn


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--traceback", is_flag=True, help="Show Python tracebacks for unexpected errors (debugging).")
@click.version_option(package_name="harbor-migrate")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """Upgrade a Harbor 0.5 database on an external MySQL/MariaDB to Harbor 1.5.2, safely.

    Start with `status`, then `plan`, `snapshot`, `upgrade`, `verify`. Exit codes are listed in the README.
    """
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def _register() -> None:
    # The command modules decorate functions with options from cli/options.py and are added
    # to the group defined above; importing them inside keeps that order explicit.
    from . import demo_cmd
    from . import plan_cmd
    from . import rehearse_cmd
    from . import runbook_cmd
    from . import snapshot_cmd
    from . import status_cmd
    from . import upgrade_cmd
    from . import verify_cmd

    for module in (status_cmd, plan_cmd, snapshot_cmd, upgrade_cmd, verify_cmd, rehearse_cmd, runbook_cmd, demo_cmd):
        for command in module.COMMANDS:
            cli.add_command(command)
    from .cfg import cfg  # an import error here is a bug to see, not a command to drop silently

    cli.add_command(cfg)


_register()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns (and exits with) the exit code."""
    args = sys.argv[1:] if argv is None else argv
    show_traceback = "--traceback" in args
    try:
        rv = cli.main(args=args, prog_name="harbor-migrate", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0  # ctx.exit(n) returns n in non-standalone mode
    except MigratorError as exc:
        click.echo(f"harbor-migrate: error: {mask_dsn(exc.message)}", err=True)
        code = int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("harbor-migrate: aborted", err=True)
        code = int(ExitCode.ABORTED)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = int(ExitCode.USAGE)
    except KeyboardInterrupt:
        click.echo("harbor-migrate: interrupted", err=True)
        code = int(ExitCode.INTERRUPTED)
    except Exception as exc:  # pragma: no cover - the last line of defence
        if show_traceback:
            raise
        click.echo(f"harbor-migrate: internal error: {mask_dsn(f'{type(exc).__name__}: {exc}')} "
                   "(rerun with --traceback and report it)", err=True)
        code = int(ExitCode.INTERNAL)
    if argv is None:
        sys.exit(code)
    return code
