"""``bin/start-production`` (``make serve-production``): one command that collects static files, migrates and
starts gunicorn, so production pages never answer 500 for a missing static manifest."""
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", "Host": "127.0.0.1"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.timeout(300)
def test_start_production_collects_static_migrates_and_serves(tmp_path):
    port = _free_port()
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")},
        "DJANGO_SECRET_KEY": "k" * 64,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "VITRINE_VAR_DIR": str(tmp_path),
        "VITRINE_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    server = subprocess.Popen(
        [str(BASE_DIR / "bin" / "start-production")], cwd=BASE_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        status, headers, body = 0, {}, b""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, headers, body = _get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None, server.stdout.read()
        assert status == 200, body[:500]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert (tmp_path / "staticfiles" / "staticfiles.json").exists()  # the manifest collectstatic wrote
        stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', body)
        assert stylesheet, "pages link the hashed static file names"
        assert _get(f"http://127.0.0.1:{port}{stylesheet.group(1).decode()}")[0] == 200
        assert _get(f"http://127.0.0.1:{port}/api/docs/")[0] == 200
        assert _get(f"http://127.0.0.1:{port}/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")[0] == 200
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        server.stdout.close()
