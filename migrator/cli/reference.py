"""The CLI reference (docs/cli-reference.md), generated from the commands' own --help.

``python -m migrator.cli.reference > docs/cli-reference.md`` regenerates it; a
test fails when the file is stale or a command is missing from it.
"""
from __future__ import annotations

import click

from . import cli

WIDTH = 100


def commands(group: click.Group = cli, prefix: str = "harbor-migrate") -> list[tuple[str, click.Command]]:
    """Every command path, depth first, in alphabetical order."""
    out: list[tuple[str, click.Command]] = [(prefix, group)]
    ctx = click.Context(group, info_name=prefix)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out.extend(commands(command, path))
        else:
            out.append((path, command))
    return out


def help_text(path: str, command: click.Command) -> str:
    # click caches the help option of a command the first time it runs (from that run's
    # context); drop it so the reference does not depend on what ran before in the process.
    if hasattr(command, "_help_option"):
        command._help_option = None
    parent = None
    parts = path.split()
    for i, part in enumerate(parts):
        # the root's settings (-h/--help) on every level, whether or not a command ran before
        parent = click.Context(command if i == len(parts) - 1 else cli, info_name=part, parent=parent,
                               terminal_width=WIDTH, max_content_width=WIDTH,
                               help_option_names=cli.context_settings.get("help_option_names", ["--help"]))
    return command.get_help(parent).rstrip()


def render() -> str:
    lines = ["# CLI reference", "",
             "Generated from `--help` by `python -m migrator.cli.reference > docs/cli-reference.md`; "
             "a test fails when it is stale.", ""]
    for path, command in commands():
        lines += [f"## `{path}`", "", "```text", help_text(path, command), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
