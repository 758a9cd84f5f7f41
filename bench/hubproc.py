"""Start and stop the hub as a real server (one uvicorn process) for the bench."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
# (e) creates ~1,200 web-chat visitors from one address and sends each many messages a minute:
# the per-address and per-visitor limits are raised so the bench measures the code path (the
# limiter's bookkeeping included), not the limiter's refusals.
WEBCHAT_LIMIT = 1_000_000
WEBCHAT_LIMITS = {
    "PUENTE_WEBCHAT_MESSAGES_PER_MINUTE": str(WEBCHAT_LIMIT),
    "PUENTE_WEBCHAT_SESSIONS_PER_HOUR": str(WEBCHAT_LIMIT),
    "PUENTE_WEBCHAT_CODES_PER_HOUR": str(WEBCHAT_LIMIT),
    # The bench measures channels, storage and fan-out; the bot answering every message is a
    # separate consumer, off here so the figures compare with earlier runs.
    "PUENTE_BOT": "0",
    # No SMTP listener: the demo's port 2525 may be taken by another hub on the machine.
    "PUENTE_EMAIL_LISTEN_PORT": "0",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """`python -m hub --demo --port P` with its own data dir; output goes to a log file."""

    def __init__(
        self, data_dir: Path, ingest_key: str, log_path: Path, python: str = sys.executable, code_dir: Path = REPO
    ) -> None:
        self.code_dir = code_dir  # where `python -m hub` runs from: the working tree, or a `--rev` export
        self.data_dir = data_dir
        self.ingest_key = ingest_key
        self.log_path = log_path
        self.python = python
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "puente.db"

    def start(self, timeout_s: float = 60.0) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            PUENTE_DATA_DIR=str(self.data_dir),
            PUENTE_BENCH_ROUTES="1",
            PUENTE_INGEST_KEYS=self.ingest_key,
            PUENTE_LOG_LEVEL="warning",
            PYTHONUNBUFFERED="1",
            **WEBCHAT_LIMITS,
        )
        env["PYTHONPATH"] = str(self.code_dir) + os.pathsep + env.get("PYTHONPATH", "")
        for name in ("PUENTE_DATABASE_URL", "PUENTE_REDIS_URL", "PUENTE_HOST", "PUENTE_PORT"):
            env.pop(name, None)  # the bench always runs SQLite in the data dir, in-process fan-out
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        log.write(f"\n=== start {time.strftime('%H:%M:%S')} port {self.port} ===\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [self.python, "-m", "hub", "--demo", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.code_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"hub did not answer /api/health within {timeout_s:.0f}s; see {self.log_path}")

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGINT (uvicorn's graceful shutdown: the writer finishes, engines close); SIGKILL if stuck."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """user+system CPU seconds the server process has used so far."""
        return proc_cpu_seconds(self.proc.pid) if self.proc is not None else 0.0


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def proc_cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of one process (all its threads) so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK if fields else 0.0


def live_children_cpu_seconds(exclude: tuple[int, ...] = ()) -> float:
    """CPU seconds of this process's children that are still running (e.g. py-spy), which
    RUSAGE_CHILDREN does not count until they are reaped."""
    me, total = os.getpid(), 0.0
    for entry in os.listdir("/proc")[:100_000]:
        if not entry.isdigit() or int(entry) in exclude:
            continue
        fields = _stat(int(entry))
        if fields and int(fields[1]) == me:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all processes on this machine have used (from /proc/stat): with the
    server's, the client's and wrk's own figures, it shows how busy *other* processes kept the
    cores during a phase (a shared machine makes the figures noisy)."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / CLK_TCK
