"""Verification after the upgrade: the database, and the services that read it.

HTTP-facing parts: ``registry`` (catalog and tags vs the ``repository`` table),
``adminserver`` (which database Harbor 1.5.2 will open, and its settings) and
``harbor_api`` (what the running Harbor shows). Each ``verify_*`` returns a list
of ``migrator.verdicts.Check``; none of them raises for an endpoint problem.
"""

# The sections `verify` runs, in order; the CLI offers them as --only choices without loading them.
SECTIONS = ("schema", "data", "adminserver", "registry", "harbor")
