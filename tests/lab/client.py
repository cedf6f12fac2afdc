"""A Jupyter client for the tests: the URL `jssh up` prints, its REST API and a kernel.

Only the standard library and websocket-client, so what the tests check is what any
browser would get through the tunnel.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from .laptop import Laptop
from .util import Result

__all__ = ["api", "assert_one_clear_error", "run_in_kernel", "status_json", "token_of", "up"]


def up(laptop: Laptop, name: str = "workstation", timeout: float = 120) -> str:
    result = laptop.jssh("up", name, "--no-open", timeout=timeout)
    assert result.ok, result
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:")
    return url


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def api(
    url: str, path: str, *, token: str | None = None, method: str = "GET", body: str | None = None
) -> tuple[int, bytes]:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def status_json(laptop: Laptop, name: str = "workstation") -> dict[str, Any]:
    """`jssh status NAME --json`, run in process: tests look at state with it often, and
    what they prove through a real process is the command they are about."""
    result = laptop.jssh_in_process("status", name, "--json")
    # 9: the host was brought up and does not serve now; the JSON says why.
    assert result.returncode in (0, 9), result
    entries = json.loads(result.stdout)
    assert len(entries) == 1
    return entries[0]  # type: ignore[no-any-return]


def run_in_kernel(url: str, code: str) -> str:
    """Start a kernel through the forward and run `code` over its websocket."""
    token = token_of(url)
    status, body = api(url, "/api/kernels", token=token, method="POST", body="{}")
    assert status == 201, body
    channel = KernelChannel(url, json.loads(body)["id"], timeout=60)
    try:
        return channel.run(code)
    finally:
        channel.close()


class KernelChannel:
    """A kernel's websocket, as a Jupyter client holds it (VS Code, jupyter_client)."""

    def __init__(self, url: str, kernel_id: str, *, timeout: float = 30) -> None:
        import websocket

        parsed = urlparse(url)
        self.timeout = timeout
        self.ws = websocket.create_connection(
            f"ws://{parsed.hostname}:{parsed.port}/api/kernels/{kernel_id}/channels",
            header=[f"Authorization: token {token_of(url)}"],
            timeout=timeout,
        )
        self.session = uuid.uuid4().hex

    def run(self, code: str, *, within: float = 60) -> str:
        """Run CODE; its execute_result as text (AssertionError: its error, or none
        within WITHIN seconds)."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": self.session, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False},
        }))  # fmt: skip
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            message: dict[str, Any] = json.loads(self.ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "execute_result":
                return str(message["content"]["data"]["text/plain"])
            if message["msg_type"] == "error":
                raise AssertionError(message["content"])
        raise AssertionError(f"no execute_result within {within:g} s")

    def closed(self) -> bool:
        """The server side went away (a ping gets no answer but an error)."""
        import websocket

        try:
            self.ws.ping()
            self.ws.settimeout(0.2)
            self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return False
        except (websocket.WebSocketException, OSError):
            return True
        finally:
            self.ws.settimeout(self.timeout)
        return False

    def close(self) -> None:
        self.ws.close()


def assert_one_clear_error(result: Result, code: int, *phrases: str) -> str:
    """Exit `code`, no traceback, exactly one `jssh: error:` line holding `phrases`."""
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr, result
    lines = [line for line in result.stderr.splitlines() if line.startswith("jssh: error:")]
    assert len(lines) == 1, result
    for phrase in phrases:
        assert phrase in lines[0], result
    return lines[0]
