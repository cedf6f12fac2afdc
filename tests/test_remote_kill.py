"""A kill from another laptop is not silent (issue 13, item 5).

Laptop A brought a server up and works in a kernel through its tunnel. `jssh down` or
`jssh remove` (from A itself, or from a second laptop: a second jssh state and ssh
config for the same account, with no tunnel of its own) must first ask the server
which kernels run, and refuse with one line (how many, when last active) and exit 10
while some were active in the last hour; `--force`, or a yes at the prompt on a
terminal, stops it. Against the real lab: sshd, tmux and Jupyter on this machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pexpect
import pytest

from lab import Laptop, Sshd, free_port
from lab.client import api, assert_one_clear_error, run_in_kernel, status_json, token_of, up
from test_watchdog import serves

# The shared workstation: each test uses a host name and a remote socket of its own, and
# stops its server before it ends (the fixture checks that nothing is left running).
pytestmark = [pytest.mark.faults, pytest.mark.shared_workstation]


def add_own_host(laptop: Laptop, lab_id: str) -> str:
    """Host NAME with a remote socket no other test uses (the same on both laptops)."""
    name = f"rk-{lab_id}"
    sock = f"/tmp/jssh-kill-{lab_id}/ws.sock"
    result = laptop.jssh("add", "workstation", "--name", name, "--remote-socket", sock)
    assert result.ok, result
    return name


def up_with_a_kernel_used(laptop: Laptop) -> tuple[str, str]:
    """A host of its own, up, with a kernel that just ran code: (name, url)."""
    name = add_own_host(laptop, laptop.lab_id)
    url = up(laptop, name)
    assert run_in_kernel(url, "1+1") == "2"
    return name, url


def test_down_from_a_second_laptop_refuses_while_kernels_work_and_force_stops_them(
    workstation: Sshd, make_laptop: Callable[..., Laptop]
) -> None:
    first = make_laptop(workstation)
    name = add_own_host(first, first.lab_id)
    url = up(first, name)
    # Someone works there: a notebook open with its kernel, and code run in another.
    session = {"path": "analysis.ipynb", "type": "notebook", "kernel": {"name": "python3"}}
    status, body = api(url, "/api/sessions", token=token_of(url), method="POST",
                       body=json.dumps(session))  # fmt: skip
    assert status == 201, body
    assert run_in_kernel(url, "6*7") == "42"
    in_use = f"{name}: not stopped: 2 kernels run there (analysis.ipynb), the last active"

    # Its own laptop asks through its tunnel, and is refused too: the kernels are in use.
    own = first.jssh("down", name)
    assert_one_clear_error(own, 10, in_use, "s ago")
    assert serves(url)

    # A second laptop, no tunnel of its own: it asks over ssh, on the remote.
    second = make_laptop(workstation)
    assert add_own_host(second, first.lab_id) == name
    for command in ("down", "remove"):
        refused = second.jssh(command, name)
        assert_one_clear_error(refused, 10, in_use)
        print(f"\n`jssh {command}` from the second laptop said:\n{refused.stderr}")
        assert "--force" in refused.stderr, refused  # and how to stop it anyway
        assert serves(url), f"`{command}` from the second laptop stopped the server"
    assert name in second.jssh("list").stdout  # `remove` refused: the host is kept

    forced = second.jssh("remove", name, "--force")
    assert forced.ok, forced
    assert "stopped the Jupyter server" in forced.stderr, forced
    assert f"removed {name}" in forced.stdout, forced
    assert not serves(url)
    # Nothing left to refuse for: no server runs, and `down` goes through as before.
    assert first.jssh("down", name).ok
    assert status_json(first, name)["server"]["state"] == "stopped"


def test_on_a_terminal_down_asks_before_it_stops_kernels_in_use(
    workstation: Sshd, make_laptop: Callable[..., Laptop]
) -> None:
    laptop = make_laptop(workstation)
    name, url = up_with_a_kernel_used(laptop)

    no = laptop.jssh_pty("down", name)
    no.expect(r"not stopped: 1 kernel runs there")
    no.expect(r"Stop it and its kernels anyway\? \[y/N\]")
    no.sendline("n")
    no.expect(pexpect.EOF)
    no.close()
    assert no.exitstatus == 10
    assert serves(url)

    yes = laptop.jssh_pty("down", name)
    yes.expect(r"Stop it and its kernels anyway\? \[y/N\]")
    yes.sendline("y")
    yes.expect(pexpect.EOF)
    yes.close()
    assert yes.exitstatus == 0, yes.before
    assert "stopped the Jupyter server" in (yes.before or "")
    assert not serves(url)


def test_up_with_a_new_token_asks_before_it_stops_kernels_in_use(
    workstation: Sshd, make_laptop: Callable[..., Laptop]
) -> None:
    # A new token means a new server, and the old one's kernels go with it.
    laptop = make_laptop(workstation)
    name, url = up_with_a_kernel_used(laptop)

    refused = laptop.jssh("up", name, "--no-open", "--new-token")
    assert_one_clear_error(refused, 10, f"{name}: not stopped: 1 kernel runs there")
    assert "--force" in refused.stderr, refused
    assert serves(url)  # the same server, the same token: nothing lost

    forced = laptop.jssh("up", name, "--no-open", "--new-token", "--force", timeout=120)
    assert forced.ok, forced
    fresh = forced.stdout.strip().splitlines()[-1]
    assert token_of(fresh) != token_of(url)
    assert serves(fresh)
    assert not serves(url)
    assert laptop.jssh("down", name, "--force").ok


def test_a_server_on_a_tcp_port_is_asked_there_too(
    workstation: Sshd, make_laptop: Callable[..., Laptop]
) -> None:
    # With --remote-port the server listens on the workstation's 127.0.0.1, not on a
    # socket: kernels.sh asks it there (the second laptop has no tunnel of its own).
    first = make_laptop(workstation)
    name = f"rkt-{first.lab_id}"
    port = str(free_port())
    assert first.jssh("add", "workstation", "--name", name, "--remote-port", port).ok
    url = up(first, name)
    assert run_in_kernel(url, "2**10") == "1024"
    second = make_laptop(workstation)
    assert second.jssh("add", "workstation", "--name", name, "--remote-port", port).ok
    refused = second.jssh("down", name)
    assert_one_clear_error(refused, 10, f"{name}: not stopped: 1 kernel runs there")
    assert serves(url)
    assert second.jssh("down", name, "--force").ok
    assert not serves(url)
