"""default_image_for: the rehearsal server should be production's major.minor."""
from __future__ import annotations

import pytest

from migrator.errors import UsageError
from migrator.tools.rehearsal import default_image_for


@pytest.mark.parametrize("flavour, version, image", [
    ("mysql", (5, 6, 51), "mysql:5.6"),       # what Harbor 0.5 shipped
    ("mysql", (5, 7, 44), "mysql:5.7"),
    ("mysql", (8, 0, 36), "mysql:8.0"),
    ("MySQL", (8, 0), "mysql:8.0"),
    ("mariadb", (10, 2, 8), "mariadb:10.2"),  # what Harbor 1.3-1.5 shipped
    ("mariadb", (10, 11, 6), "mariadb:10.11"),
    ("mariadb", (11, 4, 2), "mariadb:11.4"),
])
def test_production_server_maps_to_its_official_image(flavour, version, image):
    assert default_image_for(flavour, version) == image


def test_user_override_wins():
    assert default_image_for("mysql", (5, 6, 51), override="mirror.local/mysql:5.6") == "mirror.local/mysql:5.6"
    assert default_image_for("postgres", (), override="my/db:1") == "my/db:1"


@pytest.mark.parametrize("flavour, version, fix", [
    ("postgres", (15, 0), "pass --image"),
    ("mysql", (5, 1, 73), "upgrade the server"),
    ("mariadb", (6, 0), "pass --image"),
    ("mysql", (8,), "pass --image"),
])
def test_unmappable_servers_name_the_fix(flavour, version, fix):
    with pytest.raises(UsageError, match=fix) as err:
        default_image_for(flavour, version)
    assert "\n" not in str(err.value)
