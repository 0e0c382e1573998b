"""Analyst SQL against the warehouse: the ``warehouse`` engine of ``lakehouse sql``.

A query is exactly one statement (counted with sqlglot's PostgreSQL tokenizer, which knows
strings, quoted names, dollar quotes and comments). It runs in a READ ONLY transaction with
``search_path`` set to ``gold``, so unqualified mart names resolve as they do on the lake engine
(``select * from agg_weather_daily``), and it is sent with the extended query protocol (as a
prepared statement), which PostgreSQL itself refuses for more than one statement.

On the project's own server the configured user is the cluster's superuser, which may read and
write the server's files (``COPY ... TO '/path'``, ``pg_read_file``) even in a READ ONLY
transaction. Analyst SQL therefore logs in as :data:`ANALYST_ROLE`, a role without superuser
rights that may only read: ``USAGE`` on the project's schemas and ``SELECT`` on their tables,
kept for later publishes by default privileges of the publishing user. It is created (or its
password reset to the warehouse password) the first time its login fails. A configured
warehouse of another server (``LAKEHOUSE_WAREHOUSE_PORT`` without our server running) is
queried as the configured user, whose rights its administrator controls.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lakehouse.settings import Settings
from lakehouse.warehouse.publish import GOLD_SCHEMA
from lakehouse.warehouse.server import (
    _PASSWORD_ERROR,
    WarehouseError,
    WarehouseTarget,
    open_connection,
    require_target,
)

ANALYST_ROLE = "lakehouse_analyst"
# Serializes the role's creation between concurrent first queries (pg_advisory_xact_lock key).
_ANALYST_LOCK_KEY = 7_316_201_511


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of one query, in the warehouse's Python types."""

    columns: list[str]
    rows: list[tuple]

    def to_arrow(self):
        """The result as a ``pyarrow.Table`` (types inferred from the values)."""
        import pyarrow as pa

        return pa.table(
            {name: [row[i] for row in self.rows] for i, name in enumerate(self.columns)}
        )


class NotOneStatement(WarehouseError):
    """The SQL is empty or holds several statements; ``usage`` marks it as the caller's error."""

    usage = True


def count_statements(sql: str) -> int | None:
    """Statements in ``sql`` for PostgreSQL (blank ones between ``;`` do not count).

    None when the text cannot be tokenized (e.g. an unterminated string): PostgreSQL then
    reports the error itself.
    """
    from sqlglot.dialects.postgres import Postgres
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = Postgres().tokenize(sql)
    except TokenError:
        return None
    count, open_statement = 0, False
    for token in tokens:
        if token.token_type != TokenType.SEMICOLON:
            open_statement = True
        elif open_statement:
            count, open_statement = count + 1, False
    return count + 1 if open_statement else count


def single_statement(sql: str) -> str:
    """``sql`` when it holds exactly one statement.

    Raises:
        NotOneStatement: no statement (blank, only ``;`` or comments) or more than one.
    """
    count = count_statements(sql)
    if count == 0:
        raise NotOneStatement("the query is empty: give one SQL statement")
    if count is not None and count > 1:
        raise NotOneStatement(f"one statement at a time: the query holds {count} statements")
    return sql


def run_query(settings: Settings, query: str) -> QueryResult:
    """Run one statement on the warehouse in a READ ONLY transaction and return its rows.

    Raises:
        NotOneStatement: ``query`` is empty or holds more than one statement.
        WarehouseError: The warehouse is not running, or the SQL failed (message from PostgreSQL).
    """
    import psycopg

    statement = single_statement(query)
    with _connect_analyst(settings) as conn:
        conn.read_only = True  # every transaction of this connection is BEGIN READ ONLY
        try:
            with conn.cursor() as cur:
                cur.execute(f"set search_path to {GOLD_SCHEMA}, public")
                # prepare=True: the extended protocol, which runs one statement or none.
                cur.execute(statement, prepare=True)
                if cur.description is None:
                    return QueryResult(columns=[], rows=[])
                columns = [d.name for d in cur.description]
                return QueryResult(columns=columns, rows=cur.fetchall())
        except psycopg.Error as exc:
            message = str(exc).strip() or type(exc).__name__
            raise WarehouseError(f"the warehouse rejected the query: {message}") from None


def query(settings: Settings, sql: str) -> tuple[list[str], list[tuple]]:
    """``(columns, rows)`` of ``sql`` on the warehouse: the ``lakehouse sql`` engine signature."""
    result = run_query(settings, sql)
    return result.columns, result.rows


def _connect_analyst(settings: Settings):
    """A connection for analyst SQL: as :data:`ANALYST_ROLE` on the project's own server."""
    import psycopg

    target = require_target(settings)
    if not target.local:
        return open_connection(target, settings)
    analyst = dataclasses.replace(target, user=ANALYST_ROLE)
    password = settings.warehouse_password.get_secret_value()
    try:
        return psycopg.connect(
            host=analyst.host,
            port=analyst.port,
            dbname=analyst.database,
            user=analyst.user,
            password=password,
            connect_timeout=10,
            application_name="lakehouse-sql",
        )
    except psycopg.OperationalError as exc:
        if not _PASSWORD_ERROR.search(str(exc)):
            raise WarehouseError(
                f"cannot connect to the warehouse at {analyst.describe()}: "
                f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
            ) from None
    # No such role yet, or another password: (re)make it as the configured user, then retry.
    ensure_analyst_role(target, settings)
    return open_connection(analyst, settings)


def ensure_analyst_role(target: WarehouseTarget, settings: Settings) -> None:
    """Create :data:`ANALYST_ROLE` (or reset its password) with read rights only.

    The password is sent as a SCRAM verifier computed here (libpq's PQencryptPasswordConn), so
    the clear text never appears in a statement, nor in the server's log.
    """
    from psycopg import sql

    password = settings.warehouse_password.get_secret_value()
    with open_connection(target, settings) as conn:
        verifier = conn.pgconn.encrypt_password(
            password.encode(), ANALYST_ROLE.encode(), b"scram-sha-256"
        ).decode()
        role, owner = sql.Identifier(ANALYST_ROLE), sql.Identifier(target.user)
        conn.execute("select pg_advisory_xact_lock(%s)", (_ANALYST_LOCK_KEY,))
        exists = conn.execute(
            "select 1 from pg_roles where rolname = %s", (ANALYST_ROLE,)
        ).fetchone()
        verb = "alter" if exists else "create"
        conn.execute(
            sql.SQL(
                verb + " role {} login nosuperuser nocreatedb nocreaterole noreplication "
                "password {}"
            ).format(role, sql.Literal(verifier))
        )
        # Reading rights on what the configured user makes from now on (each publish makes new
        # schemas and tables) and on what it already made.
        conn.execute(
            sql.SQL("alter default privileges for role {} grant usage on schemas to {}").format(
                owner, role
            )
        )
        conn.execute(
            sql.SQL("alter default privileges for role {} grant select on tables to {}").format(
                owner, role
            )
        )
        schemas = conn.execute(
            "select nspname from pg_namespace n join pg_roles r on r.oid = n.nspowner "
            "where r.rolname = %s and nspname not like 'pg\\_%%' "
            "and nspname <> 'information_schema'",
            (target.user,),
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(
                sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), role)
            )
            conn.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(
                    sql.Identifier(schema), role
                )
            )
