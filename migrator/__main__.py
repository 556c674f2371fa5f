"""``python -m migrator`` is the same as the ``harbor-migrate`` console script."""
from .cli import main

main()
