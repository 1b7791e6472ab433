"""Start and stop a gunicorn serving this project on loopback, for the HTTP benchmarks."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def gunicorn_start(*, port: int, workers: int, threads: int = 1, env_extra: dict[str, str] | None = None,
                   drop_env: tuple[str, ...] = (), ready_seconds: float = 90.0,
                   log_path: Path | None = None) -> subprocess.Popen:
    """Run gunicorn (local settings, DEBUG off, throttling out of the way) and wait until it answers.

    Its output goes to ``log_path`` when given (the fuzzer's thousands of 4xx warnings), else to this terminal.
    """
    env = {
        **os.environ, **(env_extra or {}),
        "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
        "THROTTLE_USER_RATE": "100000000/min", "THROTTLE_ANON_RATE": "100000000/min", "LOG_LEVEL": "WARNING",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    }
    for name in drop_env:
        env.pop(name, None)
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
               "--timeout", "120", "--log-level", "warning", "--backlog", "2048"]
    if threads > 1:
        command += ["--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "30"]
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - the child holds it; closed when we return
    try:
        process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    finally:
        if log:
            log.close()
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/categories/")
            if connection.getresponse().status == 200:
                connection.close()
                return process
        except OSError:
            time.sleep(0.3)
    gunicorn_stop(process)
    raise SystemExit(f"gunicorn did not become ready within {ready_seconds:.0f} s")


def gunicorn_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
