"""The server's access log names no patient: a search's words (the query string) and the client's
address never reach it. The hub is run as it is in production (`python -m hub`), its log read."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.support.server import free_port


def test_the_access_log_keeps_neither_the_query_nor_the_client(tmp_path):
    port = free_port()
    env = {**os.environ, "PUENTE_DATA_DIR": str(tmp_path), "PUENTE_LOG_LEVEL": "info", "PUENTE_SERVER_DEMO": "0"}
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.2)
        httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": "dolor de pecho zqx"}, timeout=5)
        httpx.get(f"http://127.0.0.1:{port}/api/health?patient=zqx", timeout=5)
        time.sleep(0.5)
    finally:
        hub.terminate()
        out, _ = hub.communicate(timeout=30)
    log = out.decode(errors="replace")
    assert '"GET /api/search HTTP/1.1"' in log and '"GET /api/health HTTP/1.1" 200' in log  # it did log them
    assert "zqx" not in log and "pecho" not in log
    assert "127.0.0.1:" not in log.split("Uvicorn running")[-1].replace(f"127.0.0.1:{port}", "")
