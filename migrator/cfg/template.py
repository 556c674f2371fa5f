"""The harbor.cfg key tables: what 0.5.0 had, what 1.5.2 reads, in 1.5.2's order.

Written from harbor-facts §8.1 and §5.3–5.5 (not copied from Harbor's files;
the tests compare it with them when ../shared/harbor-reference is present).
``SLOTS`` is the 1.5.2 file as a sequence of banners and keys; the comments
are ours, short, and only used where the user's own file has none.
"""
from __future__ import annotations

import dataclasses

TARGET_VERSION = "1.5.0"       # the value of _version in a 1.5.x harbor.cfg


@dataclasses.dataclass(frozen=True)
class Slot:
    """One key of the 1.5.2 file (or, with ``key`` None, a banner comment)."""

    key: str | None
    default: str = ""
    comment: tuple[str, ...] = ()
    since: str = "0.5.0"           # release that introduced the key
    required: bool = False         # 1.5.2's prepare reads it unconditionally
    commented: bool = False        # optional; when absent, written as a commented-out example
    secret: bool = False           # a password: masked in every report
    stored_as: str | None = None   # adminserver key in properties.v (128-char limit)
    encrypted: bool = False        # stored encrypted (74-byte plaintext limit)


def _k(key: str, default: str = "", *comment: str, **kw) -> Slot:
    return Slot(key, default, tuple(comment), **kw)


def _banner(*comment: str) -> Slot:
    return Slot(None, comment=tuple(comment))


R = {"required": True}

SLOTS: tuple[Slot, ...] = (
    _k("_version", TARGET_VERSION, "#Format version of this file, read by Harbor's own cfg migrator; leave it as is.",
       since="1.5.0"),
    _k("hostname", "reg.mydomain.com", "#Address (name or IP) clients use to reach the UI and the registry.",
       stored_as="ext_endpoint", **R),
    _k("ui_url_protocol", "http", "#http, or https when nginx terminates TLS (ssl_cert/ssl_cert_key below).", **R),
    _k("max_job_workers", "50", "#Replication job workers of the jobservice.", stored_as="max_job_workers", **R),
    _k("customize_crt", "on", "#on: prepare generates the key/certificate that sign registry tokens.", **R),
    _k("ssl_cert", "/data/cert/server.crt", "#Certificate and key of nginx, used when ui_url_protocol = https."),
    _k("ssl_cert_key", "/data/cert/server.key"),
    _k("secretkey_path", "/data", "#Directory holding 'secretkey', the 16-byte key that encrypts stored passwords.",
       since="1.1", **R),
    _k("admiral_url", "NA", "#Admiral's URL; NA when Harbor runs standalone.", since="1.1", stored_as="admiral_url"),
    _k("log_rotate_count", "50", "#Rotated log files kept (0: remove instead of rotating).", since="1.3", **R),
    _k("log_rotate_size", "200M", "#Rotate a log once it is bigger than this (k, M, G suffixes).", since="1.3", **R),
    _k("http_proxy", "", "#Proxy for Clair only (read with --with-clair).", since="1.5"),
    _k("https_proxy", "", since="1.5"),
    _k("no_proxy", "127.0.0.1,localhost,ui", since="1.5"),
    _banner("#The keys between BEGIN and END INITIAL PROPERTIES are loaded into Harbor's database",
            "#at the first start of 1.5.2; later changes are made in the web UI.",
            "",
            "#************************BEGIN INITIAL PROPERTIES************************"),
    _k("email_identity", "", "#Outgoing mail for password resets (identity empty: use the username).",
       stored_as="email_identity", **R),
    _k("email_server", "smtp.mydomain.com", stored_as="email_host", **R),
    _k("email_server_port", "25", stored_as="email_port", **R),
    _k("email_username", "sample_admin@mydomain.com", stored_as="email_username", **R),
    _k("email_password", "abc", secret=True, stored_as="email_password", encrypted=True, **R),
    _k("email_from", "admin <sample_admin@mydomain.com>", stored_as="email_from", **R),
    _k("email_ssl", "false", stored_as="email_ssl", **R),
    _k("email_insecure", "false", since="1.3", stored_as="email_insecure", **R),
    _k("harbor_admin_password", "Harbor12345",
       "#Initial admin password (used only while the admin has never logged in).",
       secret=True, stored_as="admin_initial_password", encrypted=True, **R),
    _k("auth_mode", "db_auth", "#db_auth or ldap_auth (uaa_auth is new in 1.3); frozen once users exist.",
       stored_as="auth_mode", **R),
    _k("ldap_url", "ldaps://ldap.mydomain.com", "#LDAP server URL.", stored_as="ldap_url", **R),
    _k("ldap_searchdn", "uid=searchuser,ou=people,dc=mydomain,dc=com",
       "#DN allowed to search the directory, when anonymous search is off.", commented=True,
       stored_as="ldap_search_dn"),
    _k("ldap_search_pwd", "password", "#Password of ldap_searchdn.", commented=True, secret=True,
       stored_as="ldap_search_password", encrypted=True),
    _k("ldap_basedn", "ou=people,dc=mydomain,dc=com", "#Base DN of the user search.", stored_as="ldap_base_dn", **R),
    _k("ldap_filter", "(objectClass=person)", "#Extra LDAP filter for the user search.", commented=True,
       stored_as="ldap_filter"),
    _k("ldap_uid", "uid", "#Attribute matched against the login name (uid, cn, sAMAccountName, ...).",
       stored_as="ldap_uid", **R),
    _k("ldap_scope", "2", "#User search scope: 0 base, 1 one level, 2 subtree.", stored_as="ldap_scope", **R),
    _k("ldap_timeout", "5", "#Seconds to wait for the LDAP server.", since="1.1", stored_as="ldap_timeout", **R),
    _k("ldap_verify_cert", "true", "#Verify the LDAP server's certificate.", since="1.4",
       stored_as="ldap_verify_cert", **R),
    _k("ldap_group_basedn", "ou=group,dc=mydomain,dc=com", "#LDAP group search (used for group members).",
       since="1.5", stored_as="ldap_group_base_dn", **R),
    _k("ldap_group_filter", "objectclass=group", since="1.5", stored_as="ldap_group_search_filter", **R),
    _k("ldap_group_gid", "cn", since="1.5", stored_as="ldap_group_attribute_name", **R),
    _k("ldap_group_scope", "2", "#Group search scope: 0 base, 1 one level, 2 subtree.", since="1.5",
       stored_as="ldap_group_search_scope", **R),
    _k("self_registration", "on", "#on: users may sign up themselves.", stored_as="self_registration", **R),
    _k("token_expiration", "30", "#Lifetime of registry tokens, in minutes.", stored_as="token_expiration", **R),
    _k("project_creation_restriction", "everyone", "#everyone, or adminonly.",
       stored_as="project_creation_restriction", **R),
    _banner("#************************END INITIAL PROPERTIES************************",
            "",
            "#######Harbor DB configuration section#######"),
    _k("db_host", "mysql", "#Database server as seen from Harbor's containers ('mysql' is the bundled one).",
       since="1.3", stored_as="mysql_host", **R),
    _k("db_password", "root123", "#Password of db_user.", secret=True, stored_as="mysql_password", encrypted=True,
       **R),
    _k("db_port", "3306", since="1.3", stored_as="mysql_port", **R),
    _k("db_user", "root", since="1.3", stored_as="mysql_username", **R),
    _banner("##### End of Harbor DB configuration#######"),
    _k("redis_url", "redis:6379", "#Redis used by the jobservice: address:port[,weight,password,db_index].",
       since="1.4"),
    _banner("##########Clair DB configuration############"),
    _k("clair_db_host", "postgres", "#Clair's PostgreSQL (used only with --with-clair).", since="1.4",
       stored_as="clair_db_host", **R),
    _k("clair_db_password", "password", since="1.2", secret=True, stored_as="clair_db_password", encrypted=True,
       **R),
    _k("clair_db_port", "5432", since="1.4", stored_as="clair_db_port", **R),
    _k("clair_db_username", "postgres", since="1.4", stored_as="clair_db_username", **R),
    _k("clair_db", "postgres", since="1.4", stored_as="clair_db", **R),
    _banner("##########End of Clair DB configuration############"),
    _k("uaa_endpoint", "uaa.mydomain.org", "#Used only with auth_mode = uaa_auth.", since="1.3",
       stored_as="uaa_endpoint", **R),
    _k("uaa_clientid", "id", since="1.3", stored_as="uaa_client_id", **R),
    _k("uaa_clientsecret", "secret", since="1.3", secret=True, stored_as="uaa_client_secret", encrypted=True, **R),
    _k("uaa_verify_cert", "true", since="1.4", stored_as="uaa_verify_cert", **R),
    _k("uaa_ca_cert", "/path/to/ca.pem", since="1.4", **R),
    _banner("### Docker Registry setting ###"),
    _k("registry_storage_provider_name", "filesystem", "#Registry storage driver: filesystem, s3, gcs, azure, ...",
       since="1.4", stored_as="registry_storage_provider_name", **R),
    _k("registry_storage_provider_config", "",
       "#Driver options as comma-separated 'key: value' pairs (docs.docker.com/registry/configuration/#storage).",
       since="1.4", secret=True, **R),
    _k("reload_config", "true", "#reload_config=true: prepare + restart overwrite the stored settings with this file.",
       since="1.5", commented=True),
    _k("skip_reload_env_pattern", "(^EMAIL.*)|(^LDAP.*)", "#Settings (by env name) that a reload leaves alone.",
       since="1.5", commented=True),
)

BY_KEY: dict[str, Slot] = {s.key: s for s in SLOTS if s.key}
KEYS_152: tuple[str, ...] = tuple(s.key for s in SLOTS if s.key)
REQUIRED_152: frozenset[str] = frozenset(s.key for s in SLOTS if s.key and s.required)
SECRET_KEYS: frozenset[str] = frozenset(s.key for s in SLOTS if s.key and s.secret)

# Keys of a 0.5.0 harbor.cfg that have a 1.5.2 slot (same name).
KEPT_050: tuple[str, ...] = (
    "hostname", "ui_url_protocol", "email_identity", "email_server", "email_server_port", "email_username",
    "email_password", "email_from", "email_ssl", "harbor_admin_password", "auth_mode", "ldap_url",
    "ldap_searchdn", "ldap_search_pwd", "ldap_basedn", "ldap_filter", "ldap_uid", "ldap_scope", "db_password",
    "self_registration", "max_job_workers", "token_expiration", "customize_crt", "project_creation_restriction",
    "ssl_cert", "ssl_cert_key",
)
OPTIONAL_050: frozenset[str] = frozenset({"ldap_searchdn", "ldap_search_pwd", "ldap_filter"})

# Keys 0.5.0 had and 1.5.2 does not read, with what replaces them.
REMOVED_050: dict[str, str] = {
    "use_compressed_js": "gone since 1.1: the UI always ships compressed; nothing replaces it",
    **{k: "gone since 1.1: prepare makes the token certificate itself when customize_crt = on; "
          "its subject is no longer configurable"
       for k in ("crt_country", "crt_state", "crt_location", "crt_organization", "crt_organizationalunit",
                 "crt_commonname", "crt_email")},
    "verify_remote_cert": "gone since 1.3: each replication target has its own 'insecure' flag "
                          "(see `harbor-migrate cfg apply-insecure`)",
}
KEYS_050: frozenset[str] = frozenset(KEPT_050) | frozenset(REMOVED_050)
REQUIRED_050: frozenset[str] = frozenset(KEPT_050) - OPTIONAL_050

# Keys that only files of Harbor 1.1 or later have (so the input is not 0.5.0).
NEWER_KEYS: frozenset[str] = frozenset(KEYS_152) - frozenset(KEPT_050) | {"uaa_ca_root"}

# The 74-byte limit: base64 of IV(16) + ciphertext, after "<enc-v1>", must fit varchar(128).
PROPERTY_MAX_CHARS = 128
ENCRYPTED_PREFIX_LEN = len("<enc-v1>")


def encrypted_length(plaintext_bytes: int) -> int:
    """Length of ``<enc-v1>`` + base64(IV ‖ AES-CFB(plaintext)) for a plaintext of n bytes."""
    return ENCRYPTED_PREFIX_LEN + 4 * -(-(16 + plaintext_bytes) // 3)


MAX_ENCRYPTED_PLAINTEXT = max(n for n in range(200) if encrypted_length(n) <= PROPERTY_MAX_CHARS)  # 74
