"""The token goes to jssh's own tunnel and nowhere else.

A second local account may listen on the tunnel's port whenever the master is gone.
jssh must prove that the listener is this host's own master before any request that
carries the token, and the browser it opens must not see the token on its command
line. Every case runs against the real sshd and Jupyter, with the squatter running
under another local account.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from lab import Laptop, wait_until
from lab.client import api, assert_one_clear_error, token_of, up
from lab.squatter import SQUATTER_ACCOUNT, Squatter

NAME = "workstation"


@pytest.fixture
def added(laptop: Laptop) -> Laptop:
    result = laptop.jssh("add", NAME)
    assert result.ok, result
    return laptop


def _master_pid(laptop: Laptop, alias: str) -> int:
    check = laptop.ssh("-O", "check", alias)
    match = re.search(r"pid=(\d+)", check.stderr)
    assert check.ok, check
    assert match, check
    return int(match.group(1))


def _kill_master(laptop: Laptop, alias: str, port: int) -> None:
    os.kill(_master_pid(laptop, alias), signal.SIGKILL)
    wait_until(lambda: not laptop.ssh("-O", "check", alias).ok, timeout=10, what="master gone")
    # The kernel frees the port as the master dies; the squatter takes it at once.
    from lab import port_is_free

    wait_until(lambda: port_is_free(port), timeout=10, what=f"port {port} freed")


def _assert_squatter_got_nothing(squatter: Squatter, token: str) -> None:
    received = squatter.received()
    assert token.encode() not in received, received
    assert b"Authorization" not in received, received
    assert b"token" not in received.lower(), received


def _assert_refused_with_the_squatter_named(result: object, port: int) -> None:
    assert_one_clear_error(
        result,  # type: ignore[arg-type]
        6,
        f"local port {port} is held by",
        f"user {SQUATTER_ACCOUNT}",
        "jssh sent it nothing",
    )


@pytest.mark.root
@pytest.mark.faults
def test_after_down_keep_server_a_squatter_on_the_port_never_gets_the_token(
    added: Laptop,
) -> None:
    url = up(added)
    token, port = token_of(url), urlparse(url).port
    assert port is not None
    assert added.jssh("down", NAME, "--keep-server").ok
    with Squatter(port) as squatter:
        result = added.jssh("up", NAME, "--no-open")
        _assert_refused_with_the_squatter_named(result, port)
        assert url not in result.stdout
        _assert_squatter_got_nothing(squatter, token)
        # status and url read the state without talking to the port with the token.
        assert added.jssh("status", NAME, "--json").ok
        _assert_squatter_got_nothing(squatter, token)
    # Once the squatter is gone, the same server comes back with the same token.
    again = up(added)
    assert token_of(again) == token
    assert api(again, "/api/status", token=token)[0] == 200


@pytest.mark.root
@pytest.mark.faults
def test_after_the_master_is_killed_a_squatter_never_gets_the_token(added: Laptop) -> None:
    url = up(added)
    token, port = token_of(url), urlparse(url).port
    assert port is not None
    _kill_master(added, f"{NAME}-jupyter", port)
    with Squatter(port) as squatter:
        result = added.jssh("up", NAME, "--no-open")
        _assert_refused_with_the_squatter_named(result, port)
        down = added.jssh("down", NAME)  # down asks Jupyter to shut down with the token
        assert down.ok, down
        _assert_squatter_got_nothing(squatter, token)


@pytest.mark.root
@pytest.mark.faults
def test_a_token_request_reaches_our_own_master_and_only_it(added: Laptop) -> None:
    """The proof does not get in the way: the warm `up` still answers from the port."""
    url = up(added)
    again = added.jssh("up", NAME, "--no-open")
    assert again.ok, again
    assert again.stdout.strip().splitlines()[-1] == url
    assert "reusing" in again.stderr


@pytest.mark.root
@pytest.mark.slurm
@pytest.mark.faults
def test_for_a_slurm_host_a_squatter_never_gets_the_token(slurm_laptop: Laptop) -> None:
    name = "cluster"
    assert slurm_laptop.jssh("add", name, "--slurm", "--time=10").ok
    url = up(slurm_laptop, name)
    token, port = token_of(url), urlparse(url).port
    assert port is not None
    _kill_master(slurm_laptop, f"{name}-jupyter-node", port)
    with Squatter(port) as squatter:
        result = slurm_laptop.jssh("up", name, "--no-open")
        _assert_refused_with_the_squatter_named(result, port)
        _assert_squatter_got_nothing(squatter, token)
    assert slurm_laptop.jssh("down", name).ok


def _recording_browser(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "browser.json"
    browser = tmp_path / "browser"
    browser.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv, 'env': dict(os.environ)}}, open({str(record)!r}, 'w'))\n"
    )
    browser.chmod(0o755)
    return browser, record


def test_open_gives_the_browser_a_private_page_not_the_token(added: Laptop, tmp_path: Path) -> None:
    browser, record = _recording_browser(tmp_path)
    result = subprocess.run(
        added.jssh_argv("up", NAME, "--open"),
        env=dict(added.env, BROWSER=str(browser)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip().splitlines()[-1]
    token = token_of(url)
    wait_until(record.exists, timeout=10, what="the browser to start")
    seen = json.loads(record.read_text())
    assert token not in " ".join(seen["argv"])
    assert all(token not in value for value in seen["env"].values())
    (given,) = seen["argv"][1:]
    assert given.startswith("file://"), given
    page = Path(urlparse(given).path)
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert stat.S_IMODE(page.parent.stat().st_mode) == 0o700
    # The page sends the browser on to the URL, which logs it in.
    assert f'content="0;url={url}"' in page.read_text().replace("&amp;", "&")
    assert api(url, "/api/status", token=token)[0] == 200


def test_every_directory_jssh_creates_for_its_state_is_private(added: Laptop) -> None:
    env = dict(added.env)
    del env["JSSH_STATE_DIR"]  # the default: $XDG_STATE_HOME/jssh
    state_home = Path(env["XDG_STATE_HOME"])
    result = subprocess.run(
        added.jssh_argv("up", NAME, "--no-open"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    made = [
        state_home / "jssh",
        state_home / "jssh" / "hosts",
        state_home / "jssh" / "hosts" / NAME,
    ]
    for directory in made:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    token_file = state_home / "jssh" / "hosts" / NAME / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert (
        subprocess.run(
            added.jssh_argv("down", NAME), env=env, capture_output=True, timeout=60
        ).returncode
        == 0
    )


def test_an_older_jssh_state_dir_left_open_is_made_private(added: Laptop) -> None:
    hosts = added.state_dir / "hosts"
    hosts.mkdir(mode=0o755)
    hosts.chmod(0o755)
    added.state_dir.chmod(0o755)
    up(added)
    assert stat.S_IMODE(hosts.stat().st_mode) == 0o700
    assert stat.S_IMODE(added.state_dir.stat().st_mode) == 0o700


@pytest.mark.root
def test_a_socket_directory_of_another_user_says_how_to_get_on(
    laptop: Laptop, tmp_path: Path
) -> None:
    theirs = Path("/tmp") / f"jssh-theirs-{laptop.lab_id}"
    theirs.mkdir(mode=0o700)  # root's, not the workstation account's
    try:
        assert laptop.jssh("add", NAME, "--remote-socket", f"{theirs}/ws.sock").ok
        result = laptop.jssh("up", NAME, "--no-open")
        assert_one_clear_error(result, 5, f"the socket directory {theirs} belongs to someone else")
        home = laptop.workstation.run_as_remote(["sh", "-c", 'echo "$HOME"']).stdout.strip()
        assert f"--remote-socket {home}/.jssh/{NAME}/jupyter.sock" in result.stderr, result
    finally:
        theirs.rmdir()


def test_the_squatter_check_costs_no_ssh_round_trip(added: Laptop) -> None:
    """The warm `up` proves the listener from the kernel alone: no ssh runs."""
    up(added)
    verbose = added.jssh("-v", "up", NAME, "--no-open")
    assert verbose.ok, verbose
    assert "+ ssh" not in verbose.stderr, verbose.stderr
    assert "reusing" in verbose.stderr


@pytest.mark.root
@pytest.mark.faults
def test_the_watchdogs_bridge_is_our_own_listener_and_a_squatter_is_still_not(
    added: Laptop,
) -> None:
    """While the watchdog replaces a dead master it holds the port itself (its bridge,
    watchdog/relay.py): the proof accepts it, so a token request made meanwhile waits
    there and is answered by Jupyter once the master is back. With the same watchdog
    running, a squatter on the port still gets nothing."""
    import threading

    from jssh.config.store import Store
    from jssh.paths import Paths
    from jssh.probe import http_status
    from jssh.session.owner import TunnelOwner

    url = up(added)
    token, port = token_of(url), urlparse(url).port
    assert port is not None
    log = added.root / "watch.stderr"
    with open(log, "wb") as err:
        watchdog = subprocess.Popen(
            added.jssh_argv("watch"), env=added.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:

        def said(pattern: str) -> bool:
            return re.search(pattern, log.read_text()) is not None

        wait_until(lambda: said(f"{NAME}: watchdog started: master pid"), timeout=20, what="watch")
        added.workstation.stop()  # the listener only: no respawn can log in for now
        os.kill(_master_pid(added, f"{NAME}-jupyter"), signal.SIGKILL)
        wait_until(lambda: said(f"{NAME}: respawn failed"), timeout=20, what="a failed respawn")
        paths = Paths.build(ssh_config=added.ssh_config, state_dir=added.state_dir)
        owner = TunnelOwner.of(Store(paths).load().hosts[NAME], paths)
        assert owner.proven()  # the watchdog's own listener, proven by its pid file
        doctor = added.jssh("doctor", NAME)  # and doctor does not call it a stranger
        assert "is held by jssh watch while it brings the tunnel back" in doctor.stdout, doctor
        answers: list[int | None] = []
        request = threading.Thread(
            target=lambda: answers.append(
                http_status(port, token=token, owner_proven=owner.proven, timeout=60)
            )
        )
        request.start()
        added.workstation.start()
        request.join(timeout=90)
        assert answers == [200]  # held by the bridge, relayed to Jupyter through the new master

        # Down: the watchdog lets the host alone, and the port goes to whoever takes it.
        assert added.jssh("down", NAME, "--keep-server").ok
        wait_until(lambda: said("was brought down"), timeout=20, what="it to let go")
        with Squatter(port) as squatter:
            result = added.jssh("up", NAME, "--no-open")
            _assert_refused_with_the_squatter_named(result, port)
            _assert_squatter_got_nothing(squatter, token)
    finally:
        watchdog.terminate()
        watchdog.wait(timeout=15)
        print(log.read_text())
