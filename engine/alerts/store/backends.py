"""Database connections behind one small interface: SQLite (default) or PostgreSQL.

The store writes its SQL once with ``?`` placeholders; the PostgreSQL backend
rewrites them to ``%s``. Each backend also knows how to serialise writers so
the hash chains never fork: SQLite takes the write lock up front
(``BEGIN IMMEDIATE``), PostgreSQL locks the two chained tables for the
transaction. The unique ``seq`` keys would refuse a fork anyway.
"""
from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from engine.alerts.store.schema import DDL, SCHEMA_VERSION
from engine.errors import HongdunError, Location

Exec = Callable[..., list[tuple[Any, ...]]]


class StoreError(HongdunError):
    """The alert store cannot be opened, is inconsistent, or refused a write."""


class Backend(Protocol):
    """What the store needs from a database."""

    name: str  # where it is, safe to print (no password)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return all rows."""
        ...

    def transaction(self) -> contextlib.AbstractContextManager[Exec]:
        """A write transaction holding the chain lock; yields an ``exec(sql, params)`` function."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def open_backend(url: str) -> Backend:
    """Connect to ``url``: ``postgresql://…``, ``sqlite:///path`` or a plain file path."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(url)
    if url.startswith("sqlite:///"):
        return SqliteBackend(url[len("sqlite:///"):])
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
        raise StoreError(f"unsupported database URL (use postgresql://… or a SQLite file path): {redact(url)}")
    return SqliteBackend(url)


def _check_schema(exec_: Exec, where: str) -> None:
    rows = exec_("SELECT value FROM alert_store_meta WHERE key = ?", ("schema_version",))
    if not rows:
        exec_("INSERT INTO alert_store_meta (key, value) VALUES (?, ?)", ("schema_version", SCHEMA_VERSION))
    elif rows[0][0] != SCHEMA_VERSION:
        raise StoreError(f"alert store schema version {rows[0][0]}, this hongdun reads {SCHEMA_VERSION}",
                         Location(file=where))


class SqliteBackend:
    """One SQLite file in WAL mode (``:memory:`` for throw-away stores)."""

    def __init__(self, path: str) -> None:
        self.name = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")  # status changes are human work: keep them
            with self.transaction() as exec_:
                for stmt in DDL:
                    exec_(stmt)
                _check_schema(exec_, path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open alert store: {exc}", Location(file=path)) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Exec]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield lambda sql, params=(): self.conn.execute(sql, params).fetchall()
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class PostgresBackend:
    """A PostgreSQL database (or schema, via ``options=-csearch_path=…`` in the URL)."""

    def __init__(self, url: str) -> None:
        self.name = redact(url)
        try:
            import psycopg
        except ImportError:
            raise StoreError("PostgreSQL needs psycopg: pip install 'psycopg[binary]>=3.1'",
                             Location(file=self.name)) from None
        self._errors = psycopg.Error
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the alert store: {str(exc).strip()}", Location(file=self.name)) from None
        with self.conn.transaction():
            for stmt in DDL:
                self.conn.execute(stmt)
            _check_schema(self._exec, self.name)

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql.replace("?", "%s"), params)
        return cur.fetchall() if cur.description is not None else []

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._exec(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Exec]:
        with self.conn.transaction():
            self.conn.execute("LOCK TABLE alert_records, alert_status_changes IN SHARE ROW EXCLUSIVE MODE")
            yield self._exec

    def close(self) -> None:
        self.conn.close()
