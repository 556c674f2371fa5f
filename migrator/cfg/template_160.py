"""The 1.6.0 harbor.cfg key table, as changes to our 1.5.2 table (``template.SLOTS``).

1.6.0 keeps 1.5.2's keys and order except: the ``db_*`` keys describe the
PostgreSQL database (bundled defaults ``postgresql``, 5432, ``postgres``; still
no database name: the adminserver env template fixes ``POSTGRESQL_DATABASE=registry``),
``redis_url`` is split into ``redis_host``/``redis_port``/``redis_password``/
``redis_db_index``, Clair gets ``clair_updaters_interval`` and the storage
section ``registry_custom_ca_bundle``. Some defaults moved (max_job_workers 10,
no_proxy with ``registry``, Clair on ``postgresql``). ``properties.v`` is still
varchar(128) in 1.6.0 (harbor-facts §2.9), so the same length limits apply.
"""
from __future__ import annotations

import dataclasses

from . import template as T

TARGET_VERSION = "1.6.0"

_DEFAULTS = {
    "_version": TARGET_VERSION, "max_job_workers": "10", "no_proxy": "127.0.0.1,localhost,ui,registry",
    "db_host": "postgresql", "db_port": "5432", "db_user": "postgres",
    "clair_db_host": "postgresql", "clair_db_password": "root123",
}
_COMMENTS = {
    "_version": ("#Format version of this file, read by Harbor's own cfg migrator; leave it as is.",),
    "db_host": ("#PostgreSQL server as seen from Harbor's containers ('postgresql' is the bundled one);",
                "#the database is 'registry' (adminserver env template).",),
    "db_password": ("#Password of db_user on the PostgreSQL server.",),
}
_REDIS = (
    T._banner("##########Redis server configuration.############"),
    T._k("redis_host", "redis", "#Redis used by the UI, the jobservice and the registry.", since="1.6"),
    T._k("redis_port", "6379", since="1.6"),
    T._k("redis_password", "", since="1.6", secret=True),
    T._k("redis_db_index", "1,2,3", "#Databases of the registry, the jobservice and chartmuseum (0 is the UI's).",
         since="1.6"),
    T._banner("##########End of Redis server configuration.############"),
)
_AFTER = {
    "clair_db": (T._k("clair_updaters_interval", "12", "#Hours between Clair's updater runs (0: never).",
                      since="1.6"),),
    "registry_storage_provider_config": (
        T._k("registry_custom_ca_bundle", "", "#CA certificate injected into the registry's and chartmuseum's "
             "trust store (self-signed storage).", since="1.6"),),
}


def _slots() -> tuple[T.Slot, ...]:
    out: list[T.Slot] = []
    for slot in T.SLOTS:
        if slot.key == "redis_url":
            out += _REDIS
            continue
        if slot.key in _DEFAULTS or slot.key in _COMMENTS:
            slot = dataclasses.replace(slot, default=_DEFAULTS.get(slot.key, slot.default),
                                       comment=_COMMENTS.get(slot.key, slot.comment))
        out.append(slot)
        out += _AFTER.get(slot.key or "", ())
    return tuple(out)


SLOTS: tuple[T.Slot, ...] = _slots()
BY_KEY: dict[str, T.Slot] = {s.key: s for s in SLOTS if s.key}
KEYS_160: tuple[str, ...] = tuple(s.key for s in SLOTS if s.key)
REQUIRED_160: frozenset[str] = frozenset(s.key for s in SLOTS if s.key and s.required)
SECRET_KEYS: frozenset[str] = frozenset(s.key for s in SLOTS if s.key and s.secret)

# Keys of a 1.5.x file that 1.6.0 no longer reads, with what replaces them.
REMOVED_152: dict[str, str] = {
    "redis_url": "gone in 1.6.0: split into redis_host, redis_port, redis_password and redis_db_index",
}
