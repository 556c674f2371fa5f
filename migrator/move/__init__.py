"""Harbor 1.5.0 on MySQL -> Harbor 1.6.0 on PostgreSQL (issue 16), engine-neutral.

``target_schema`` declares the fresh 1.6.0 schema (two phases), ``conversions``
what each column becomes, ``copy.move_database`` the resumable move. MySQL is read
through ``migrator.mysql.stream``, PostgreSQL written through ``migrator.postgres``.
"""
