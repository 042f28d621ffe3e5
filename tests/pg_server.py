"""A throwaway PostgreSQL server for tests, from the machine's Debian PostgreSQL binaries.

The server lives in a temporary folder: its data directory, its log and its
Unix socket (no TCP port is opened). Trust authentication, so the URL needs no
password. initdb refuses to run as root, so when the tests run as root (as they
do in CI) every server command runs as Debian's `postgres` system user.

    with PostgresServer.start() as server:
        url = server.create_database("optuna")   # postgresql+psycopg2://postgres@/optuna?host=...

`postgres_or_skip()` starts one, or skips the test with how to install
PostgreSQL -- or fails it when CI=true, where .ci/run installs the package.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from typing import List, Optional

INSTALL = "apt-get install postgresql (Debian's package: /usr/lib/postgresql/<version>/bin and the postgres user)"
SUPERUSER = "postgres"          # the database role initdb creates (-U)
PORT = 5432                     # only names the socket file (.s.PGSQL.5432): no TCP


class Unavailable(Exception):
    """This machine cannot run a throwaway server: no binaries, or no user to run them as."""


def find_bindir() -> str:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    def version(path):
        name = path.split(os.sep)[-3]
        return tuple(int(p) for p in re.findall(r"\d+", name)) or (0,)
    found = [os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
             if os.access(os.path.join(os.path.dirname(p), "pg_ctl"), os.X_OK)]
    if not found:
        raise Unavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return max(found, key=version)


def _run_as() -> List[str]:
    """The prefix that runs a command as the server's owner: `postgres` when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("running as root, and there is no 'postgres' system user to run the server as "
                          "(initdb refuses root)") from None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    if shutil.which("su"):
        return ["su", "postgres", "-s", "/bin/sh", "-c"]       # takes one shell-quoted command
    raise Unavailable("running as root, and neither runuser nor su is there to switch to 'postgres'")


class PostgresServer:
    def __init__(self, bindir: str, root: str, prefix: List[str]):
        self.bindir, self.root, self.prefix = bindir, root, prefix
        self.data = os.path.join(root, "data")
        self.socket_dir = root
        self.log = os.path.join(root, "server.log")
        self.running = False

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def start(cls, timeout: float = 60) -> "PostgresServer":
        bindir, prefix = find_bindir(), _run_as()
        # /tmp, not $TMPDIR: the postgres user must reach it, and a socket path has ~100 bytes at most
        root = tempfile.mkdtemp(prefix="nncgraph-pg-", dir="/tmp" if os.path.isdir("/tmp") else None)
        server = cls(bindir, root, prefix)
        try:
            if prefix:
                user = pwd.getpwnam("postgres")
                os.chown(root, user.pw_uid, user.pw_gid)
            os.chmod(root, 0o700)
            server._run("initdb", "-D", server.data, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                        "--locale=C", "--no-sync")
            # no TCP at all, the socket in our folder; durability is worthless for a throwaway server
            with open(os.path.join(server.data, "postgresql.conf"), "a") as conf:
                conf.write(f"\n# throwaway test server\nlisten_addresses = ''\n"
                           f"unix_socket_directories = '{server.socket_dir}'\nport = {PORT}\n"
                           "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                           "max_connections = 50\n")
            server._run("pg_ctl", "-D", server.data, "-l", server.log, "-w", "-t", str(int(timeout)),
                        "-o", f"-c listen_addresses='' -k {server.socket_dir}", "start", timeout=timeout + 30)
            server.running = True
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop the server (fast: active sessions are ended) and remove its folder; safe to call twice."""
        try:
            if os.path.isfile(os.path.join(self.data, "postmaster.pid")):
                try:
                    self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
                except Exception:
                    self._kill_postmaster()
        finally:
            self.running = False
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return
        for sig, wait in ((signal.SIGINT, 10), (signal.SIGKILL, 5)):     # SIGINT is postgres' fast shutdown
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.time() + wait
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- databases -------------------------------------------------------------------------------
    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database on this server (psycopg2, over the Unix socket)."""
        return f"postgresql+psycopg2://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, database: str) -> str:
        self._run("createdb", "-h", self.socket_dir, "-p", str(PORT), "-U", SUPERUSER, database)
        return self.url(database)

    # -- helpers ---------------------------------------------------------------------------------
    def _run(self, program: str, *args: str, timeout: float = 120) -> str:
        command = [os.path.join(self.bindir, program), *args]
        if self.prefix and self.prefix[-1] == "-c":                 # su ... -c 'one command'
            command = self.prefix + [" ".join(_quote(a) for a in command)]
        else:
            command = self.prefix + command
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}    # no stray PGHOST/PGPORT
        env.update(LC_ALL="C", LANG="C")
        proc = subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{program} failed (exit status {proc.returncode}):\n{proc.stdout}{proc.stderr}"
                               + self._log_tail())
        return proc.stdout

    def _log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log, errors="replace") as f:
                return "\nserver log:\n" + "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def postgres_or_skip() -> Optional[PostgresServer]:
    """A running throwaway server; without PostgreSQL: skip the test, or fail it when CI=true."""
    import pytest

    try:
        return PostgresServer.start()
    except Unavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed for this test and CI must install it: {exc}. "
                        f"Install it with: {INSTALL}.", pytrace=False)
        pytest.skip(f"no PostgreSQL server here ({exc}); to run this test: {INSTALL}")
