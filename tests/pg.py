"""A throwaway PostgreSQL server for the tests: one per test session, a fresh database per test.

Debian keeps `initdb` and `pg_ctl` in PostgreSQL's versioned lib folder, off PATH. The server runs
from a temporary folder on a free loopback port with its socket there too, so a packaged cluster
(port 5432) is never touched; as root it runs as the `postgres` user, as PostgreSQL insists.
Each test's database is a copy of a migrated template (`CREATE DATABASE ... TEMPLATE`), which
takes milliseconds, where migrating afresh would take much longer.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from rooms.store.postgres import PostgresStore
from tests.ports import free_port

TEMPLATE = "twinrooms_template"
USER = "twinrooms"
PASSWORD = "twinrooms-test"  # checked over TCP (scram), so a wrong password is refused as in life
_names = itertools.count()


def binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: on PATH, else the newest Debian version's."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


class PgServer:
    """A running test server: `fresh()` makes a database and returns its URL."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="twinrooms-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        self._template_ready = False

    def url(self, database: str) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n")
        if self.as_postgres:
            shutil.chown(password_file, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, "-E", "UTF8", f"--pwfile={password_file}",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            " -c shared_preload_libraries=pg_stat_statements"  # what a test counts statements with
        )
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.root / "log"), "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url("postgres"))

    async def fresh(self, *, migrated: bool = True) -> str:
        """A new database (a copy of the migrated template, or empty), by URL."""
        name = f"t{os.getpid()}_{next(_names)}_{int(time.time() * 1000) % 100000}"
        admin = await self._admin()
        try:
            if migrated and not self._template_ready:
                await admin.execute(f"CREATE DATABASE {TEMPLATE}")
                store = PostgresStore(self.url(TEMPLATE), clock=time.time)
                await store.open()
                await store.close()
                self._template_ready = True
            template = f" TEMPLATE {TEMPLATE}" if migrated else ""
            await admin.execute(f"CREATE DATABASE {name}{template}")
        finally:
            await admin.close()
        return self.url(name)

    async def drop(self, url: str) -> None:
        """Drop a test's database, whoever is still connected to it."""
        admin = await self._admin()
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
        finally:
            await admin.close()
