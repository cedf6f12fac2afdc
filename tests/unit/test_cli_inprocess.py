"""The command line, run in process through `jssh.cli.main(argv) -> int`.

Only what needs no connection: usage, hostile input, empty state. ssh itself is the
real binary where `add` asks it (`ssh -G` reads config and connects nowhere).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jssh import __version__
from jssh.cli import main


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A laptop with a private ssh config and state dir, named through the env vars."""
    ssh_dir = tmp_path / "home" / ".ssh"
    ssh_dir.mkdir(parents=True, mode=0o700)
    config = ssh_dir / "config"
    config.write_text("Host ws\n    HostName 127.0.0.1\n    Port 2222\n")
    config.chmod(0o600)
    monkeypatch.setenv("JSSH_SSH_CONFIG", str(config))
    monkeypatch.setenv("JSSH_STATE_DIR", str(tmp_path / "state"))
    # pytest's tmp_path is too long for a control socket (a limit jssh reports itself).
    control = tempfile.mkdtemp(prefix="jcm", dir="/tmp")
    monkeypatch.setenv("JSSH_CONTROL_DIR", control)
    yield config
    shutil.rmtree(control, ignore_errors=True)


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("jssh: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_version_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"jssh {__version__}\n"


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bogus"]) == 2
    assert "No such command 'bogus'" in capsys.readouterr().err


def test_a_missing_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up"]) == 2
    assert "Missing argument 'NAME'" in capsys.readouterr().err


def test_no_hosts_yet_lists_nothing(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_up_of_an_unmanaged_name_says_so_in_one_line(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "nope", "--no-open"]) == 8
    assert "nope" in _one_error(capsys)


@pytest.mark.parametrize("host", ["-oProxyCommand=sh", "ws;id", "ws\nHost *", "a b"])
def test_add_refuses_hostile_hosts_and_leaves_the_config_as_it_was(
    sandbox: Path, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    before = sandbox.read_bytes()
    assert main(["add", "--", host]) == 2  # after --: even a leading - reaches jssh
    assert "is not a host" in _one_error(capsys)
    assert sandbox.read_bytes() == before
    assert sorted(p.name for p in sandbox.parent.iterdir()) == ["config"]


def test_add_then_remove_gives_back_the_config_byte_for_byte(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sandbox.read_bytes()
    assert main(["add", "ws"]) == 0
    added = sandbox.read_bytes()
    assert added.startswith(b"# Added by jssh")
    assert b"Include " in added
    managed = (sandbox.parent / "jssh" / "config").read_text()
    assert "Host ws-jupyter" in managed
    assert "LocalForward 127.0.0.1:" in managed
    assert os.stat(sandbox.parent / "jssh" / "config").st_mode & 0o077 == 0
    assert main(["remove", "ws"]) == 0
    assert sandbox.read_bytes() == before
    assert "removed ws" in capsys.readouterr().out


@pytest.mark.parametrize(("shell", "committed"), [("bash", "jssh.bash"), ("zsh", "_jssh"),
                                                  ("fish", "jssh.fish")])  # fmt: skip
def test_completion_prints_the_script_the_packages_ship(
    shell: str, committed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    shipped = Path(__file__).resolve().parents[2] / "completions" / committed
    assert capsys.readouterr().out == shipped.read_text()


def test_fish_runs_jssh_once_per_tab(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "fish"]) == 0
    script = capsys.readouterr().out
    assert script.count("jssh)") == 1  # one command substitution, no --condition
    assert "--condition" not in script


def test_an_unknown_shell_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "tcsh"]) == 2
    assert "use bash, zsh or fish" in _one_error(capsys)


def test_typers_rc_file_installer_is_not_offered(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--install-completion" not in capsys.readouterr().out


def test_bare_jssh_shows_the_help_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: jssh")
    assert "up " in out


def test_help_of_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", "up"]) == 0
    assert capsys.readouterr().out.startswith("Usage: jssh up [OPTIONS] ")


def test_show_summarises_and_json_gives_the_record(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add", "ws"]) == 0
    capsys.readouterr()
    assert main(["show", "ws"]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("ws\n")
    assert "host          ws -> " in summary
    assert "127.0.0.1:2222" in summary
    assert "Host ws-jupyter" in summary
    assert main(["show", "ws", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "ws"


def test_a_name_that_is_an_ssh_alias_suggests_adding_it(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "ws", "--no-open"]) == 8
    assert "manage it with `jssh add ws`" in _one_error(capsys)


def test_the_jupyter_alias_points_to_the_managed_name(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add", "ws"]) == 0
    capsys.readouterr()
    assert main(["status", "ws-jupyter"]) == 8
    assert "the managed name is 'ws'" in _one_error(capsys)


def test_retargeting_a_host_that_is_up_says_its_tunnel_goes_on_where_it_went(
    sandbox: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["add", "ws"]) == 0
    wanted = tmp_path / "state" / "hosts" / "ws" / "wanted"  # what `jssh up` leaves
    wanted.parent.mkdir(parents=True)
    wanted.write_text("")
    capsys.readouterr()
    assert main(["add", "127.0.0.2", "--name", "ws"]) == 0
    err = capsys.readouterr().err
    assert "warning: ws is up: its tunnel still goes to ws on port" in err
    assert "`jssh down ws` and `jssh up ws`" in err
