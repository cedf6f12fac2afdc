"""Real users' ssh configs, against the lab's real sshd and real files.

Symlinked dotfiles, read-only Nix targets, Include lines the user wrote, CRLF, comments
that are not UTF-8, `Host *` blocks that also match NAME-jupyter, config.d shadows,
values that need quoting, %n and %k, SetEnv, a Match-exec drift, IPv6 and unknown
hosts, hostile hosts.json, and the remote state `remove` takes away. Each test checks
what the user sees: plain `ssh NAME-jupyter` behaves like `ssh HOST` (`ssh -G`, minus
jssh's own settings), `jssh up` serves where the item is about `up`, and after `remove`
the user's files and links are byte for byte what they were.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from jssh.config.sshconfig import GUARD_KEYWORDS, JSSH_KEYWORDS
from jssh.ssh import parse_settings
from lab import Laptop, Sshd, run
from lab.client import api, token_of
from test_watchdog import Watcher, watch

__all__ = ["watch"]  # the fixture, shared with test_watchdog.py
SHARED = pytest.mark.shared_workstation  # only logs in and reads: the worker's sshd
NAME = "workstation"
ALIAS = f"{NAME}-jupyter"
# What `ssh -G NAME-jupyter` may differ in from `ssh -G HOST`: jssh's own settings,
# its guards, and `dynamicforward`, where OpenSSH 9.2 prints a forward to a unix
# socket a second time.
JSSH_OWN = {"host", "dynamicforward", *JSSH_KEYWORDS, *GUARD_KEYWORDS}


def resolved(laptop: Laptop, host: str) -> dict[str, list[str]]:
    result = laptop.ssh("-G", host)
    assert result.ok, result
    return parse_settings(result.stdout)


def assert_alias_resolves_like_host(laptop: Laptop, host: str = NAME, alias: str = ALIAS) -> None:
    """`ssh -G ALIAS` says what `ssh -G HOST` says, but for jssh's own settings; HOST's
    %n and %k read as what they mean for HOST."""
    want = resolved(laptop, host)
    for key in ("identityfile", "certificatefile"):
        if key in want:
            want[key] = [v.replace("%n", host).replace("%k", host) for v in want[key]]
    got = resolved(laptop, alias)
    keys = (set(want) | set(got)) - JSSH_OWN
    assert {k: got.get(k) for k in keys} == {k: want.get(k) for k in keys}


def edit(laptop: Laptop, change: Callable[[str], str]) -> None:
    laptop.ssh_config.write_text(change(laptop.ssh_config.read_text()))


def add_ok(laptop: Laptop, *args: str) -> str:
    """`jssh add ARGS` works, and names no temp file; its stderr. (In process: add and
    remove start nothing that outlives them, and the exit code and output are jssh's.)"""
    result = laptop.jssh_in_process("add", *args)
    assert result.ok, result
    assert "jssh-probe" not in result.stdout + result.stderr
    return result.stderr


def remove_ok(laptop: Laptop, name: str = NAME) -> str:
    result = laptop.jssh_in_process("remove", name)
    assert result.ok, result
    return result.stderr


def stow(laptop: Laptop, mode: int = 0o644) -> Path:
    """Make ~/.ssh/config what GNU stow makes it: a relative link into ~/dotfiles."""
    target = laptop.home / "dotfiles" / "ssh" / "config"
    target.parent.mkdir(parents=True)
    os.replace(laptop.ssh_config, target)
    target.chmod(mode)
    laptop.ssh_config.symlink_to(os.path.relpath(target, laptop.ssh_dir))
    return target


# -- 1, 2: links, read-only targets and Include lines the user wrote -----------------------


@SHARED
def test_a_stowed_config_stays_a_link_and_comes_back_byte_for_byte(laptop: Laptop) -> None:
    target = stow(laptop)
    link, original = os.readlink(laptop.ssh_config), target.read_bytes()

    add_ok(laptop, NAME)
    assert os.readlink(laptop.ssh_config) == link
    assert f"Include {laptop.ssh_dir}/jssh/config".encode() in target.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["config"]  # edited in place
    assert laptop.ssh(ALIAS, "true").ok
    assert_alias_resolves_like_host(laptop)

    remove_ok(laptop)
    assert os.readlink(laptop.ssh_config) == link
    assert target.read_bytes() == original


@SHARED
def test_a_dangling_link_gets_a_target_that_goes_again(laptop: Laptop) -> None:
    laptop.ssh_config.unlink()
    target = laptop.home / "dotfiles" / "ssh_config"
    target.parent.mkdir()
    laptop.ssh_config.symlink_to(target)
    add_ok(laptop, "gpu01.lab.example.org")
    assert laptop.ssh_config.is_symlink()
    assert b"Include " in target.read_bytes()
    remove_ok(laptop, "gpu01")
    assert os.readlink(laptop.ssh_config) == str(target)
    assert not target.exists()


@SHARED
def test_a_read_only_target_is_left_alone_and_the_line_to_add_is_printed(laptop: Laptop) -> None:
    target = stow(laptop, mode=0o444)  # home-manager: a link into a read-only store
    original = target.read_bytes()
    include = f"Include {laptop.ssh_dir}/jssh/config"

    added = laptop.jssh("add", NAME)
    assert added.returncode == 3, added
    assert f"added {NAME}" in added.stdout
    assert "could not add its Include line" in added.stderr
    assert "read-only (mode 0444)" in added.stderr
    assert f"    {include}\n" in added.stderr
    assert f'programs.ssh.includes = [ "{laptop.ssh_dir}/jssh/config" ];' in added.stderr
    assert target.read_bytes() == original
    assert (laptop.ssh_dir / "jssh" / "config").exists()
    assert not laptop.ssh(ALIAS, "true").ok  # not yet: ssh doesn't see the block

    # The user adds the line their way (home-manager regenerates the file).
    target.chmod(0o644)
    target.write_bytes(include.encode() + b"\n" + original)
    target.chmod(0o444)
    users_own = target.read_bytes()
    assert laptop.jssh("add", NAME).ok  # now nothing is missing
    assert laptop.ssh(ALIAS, "true").ok
    assert_alias_resolves_like_host(laptop)

    removed = remove_ok(laptop)
    assert "stays in" in removed
    assert target.read_bytes() == users_own


@SHARED
def test_an_include_line_the_user_wrote_stays_after_the_last_remove(laptop: Laptop) -> None:
    edit(laptop, lambda text: f"Include {laptop.ssh_dir}/jssh/config\n\n" + text)
    original = laptop.ssh_config.read_bytes()
    add_ok(laptop, NAME)
    assert laptop.ssh_config.read_bytes() == original
    assert laptop.ssh(ALIAS, "true").ok
    remove_ok(laptop)
    assert laptop.ssh_config.read_bytes() == original


# -- 3, 4: line endings and encodings -------------------------------------------------------


@SHARED
def test_a_crlf_config_keeps_crlf_in_our_line_and_comes_back_exactly(laptop: Laptop) -> None:
    crlf = laptop.ssh_config.read_bytes().replace(b"\n", b"\r\n")
    laptop.ssh_config.write_bytes(crlf)

    add_ok(laptop, NAME)
    edited = laptop.ssh_config.read_bytes()
    assert f"Include {laptop.ssh_dir}/jssh/config\r\n".encode() in edited
    assert edited.count(b"\n") == edited.count(b"\r\n")
    assert [b.read_bytes() for b in (laptop.ssh_dir / "jssh" / "backup").iterdir()] == [crlf]
    assert laptop.ssh(ALIAS, "true").ok
    assert_alias_resolves_like_host(laptop)

    remove_ok(laptop)
    assert laptop.ssh_config.read_bytes() == crlf


@SHARED
def test_a_comment_that_is_not_utf8_is_accepted_as_ssh_accepts_it(laptop: Laptop) -> None:
    data = b"# Ren\xe9's laptop\n" + laptop.ssh_config.read_bytes() + b"# \xff\xfe\n"
    laptop.ssh_config.write_bytes(data)
    add_ok(laptop, NAME)
    assert laptop.ssh(ALIAS, "true").ok
    remove_ok(laptop)
    assert laptop.ssh_config.read_bytes() == data


@SHARED
def test_a_lone_comment_without_a_final_newline_gets_no_newline_added(laptop: Laptop) -> None:
    laptop.ssh_config.write_bytes(b"# only this")
    add_ok(laptop, "gpu01.lab.example.org")
    remove_ok(laptop, "gpu01")
    assert laptop.ssh_config.read_bytes() == b"# only this"


# -- 5: `Host *` blocks that match NAME-jupyter too -----------------------------------------

HOSTILE_DEFAULTS = (
    "    RemoteCommand exec bash -l\n"
    "    RequestTTY yes\n"
    "    ClearAllForwardings yes\n"
    "    StdinNull yes\n"
    "    ForkAfterAuthentication yes\n"
)


def test_host_star_with_remote_command_tty_and_cleared_forwards_does_not_break_up(
    laptop: Laptop,
) -> None:
    edit(laptop, lambda text: text.replace("Host *\n", "Host *\n" + HOSTILE_DEFAULTS))
    original = laptop.ssh_config.read_bytes()
    add_ok(laptop, NAME)
    assert_alias_resolves_like_host(laptop)
    plain = laptop.ssh(ALIAS, "echo", "plain")
    assert plain.ok, plain
    assert plain.stdout.strip() == "plain"

    started = laptop.jssh("up", NAME, "--no-open", timeout=120)
    assert started.ok, started
    assert "refreshed" not in started.stderr  # nothing drifted: the block is left alone
    url = started.stdout.strip().splitlines()[-1]
    assert api(url, "/api/status", token=token_of(url))[0] == 200

    # 14: remove takes the remote state away too, and the user's file comes back.
    remote_state = laptop.workstation.remote_home / ".jssh" / NAME
    assert remote_state.is_dir()
    removed = remove_ok(laptop)
    assert f"removed ~/.jssh/{NAME}" in removed
    assert not remote_state.exists()
    assert laptop.ssh_config.read_bytes() == original


@SHARED
def test_an_inherited_local_forward_is_named_with_its_line_and_the_fix(laptop: Laptop) -> None:
    edit(
        laptop,
        lambda text: text.replace("Host *\n", "Host *\n    LocalForward 18080 localhost:80\n"),
    )
    lines = laptop.ssh_config.read_text().splitlines()
    star, forward = (
        lines.index("Host *") + 1,
        lines.index("    LocalForward 18080 localhost:80") + 1,
    )

    stderr = add_ok(laptop, NAME)
    assert (
        f"warning: `LocalForward 18080 localhost:80` ({laptop.ssh_config} line {forward},"
        " under `Host *`) applies to workstation-jupyter too" in stderr
    )
    fix = f"change `Host *` ({laptop.ssh_config} line {star}) to `Host * !*-jupyter`"
    assert f"fix: {fix}" in stderr

    # Another program holds 18080 (on both loopbacks, as a plain `ssh HOST` with that
    # forward does): `up` says the fix is in the user's config, not in jssh's port.
    v4 = socket.create_server(("127.0.0.1", 18080))
    v6 = socket.create_server(("::1", 18080), family=socket.AF_INET6)
    with v4, v6:
        failed = laptop.jssh("up", NAME, "--no-open", timeout=60)
    lines = laptop.ssh_config.read_text().splitlines()  # add put its Include on top
    star, forward = (
        lines.index("Host *") + 1,
        lines.index("    LocalForward 18080 localhost:80") + 1,
    )
    fix = f"change `Host *` ({laptop.ssh_config} line {star}) to `Host * !*-jupyter`"
    assert failed.returncode == 6, failed
    assert (
        f"{ALIAS}'s master could not open a forward that your ssh config adds to it:"
        f" `LocalForward 18080 localhost:80` ({laptop.ssh_config} line {forward}" in failed.stderr
    )
    assert fix in failed.stderr
    assert "--local-port" not in failed.stderr

    edit(laptop, lambda text: text.replace("Host *\n", "Host * !*-jupyter\n"))
    assert "warning" not in add_ok(laptop, NAME)
    assert [f for f in resolved(laptop, ALIAS)["localforward"] if "18080" in f] == []


# -- 6: Includes, as ssh follows them -------------------------------------------------------


@SHARED
def test_an_alias_in_an_included_file_is_not_shadowed_and_tab_offers_its_hosts(
    laptop: Laptop,
) -> None:
    conf_d = laptop.ssh_dir / "config.d"
    conf_d.mkdir()
    (conf_d / "10-lab").write_text("Host gpu-box\n    HostName 192.0.2.7\n")
    (conf_d / "20-work").write_text(f"Host {ALIAS}\n    HostName elsewhere.example.org\n")
    edit(laptop, lambda text: f"Include {conf_d}/*\n" + text)
    original = laptop.ssh_config.read_bytes()

    refused = laptop.jssh("add", NAME)
    assert refused.returncode == 2, refused
    assert f"already has a Host named '{ALIAS}' ({conf_d}/20-work line 1)" in refused.stderr
    assert laptop.ssh_config.read_bytes() == original
    assert not (laptop.ssh_dir / "jssh" / "hosts.json").exists()

    tab = run(
        laptop.jssh_argv(),
        env={**laptop.env, "_JSSH_COMPLETE": "complete_bash", "COMP_WORDS": "jssh add ",
             "COMP_CWORD": "2"},
    )  # fmt: skip
    assert sorted(tab.stdout.split()) == sorted(["gpu-box", ALIAS, "unrelated.example.org", NAME])

    add_ok(laptop, NAME, "--force")
    assert resolved(laptop, ALIAS)["hostname"] == ["127.0.0.1"]


# -- 7, 8, 9: values copied out of ssh -G ----------------------------------------------------


@SHARED
def test_a_known_hosts_path_with_spaces_still_verifies_the_host_key(laptop: Laptop) -> None:
    spaced = laptop.ssh_dir / "my keys" / "known hosts"
    spaced.parent.mkdir()
    os.replace(laptop.known_hosts, spaced)
    edit(
        laptop,
        lambda text: text.replace(
            f"    UserKnownHostsFile {laptop.ssh_dir}/known_hosts\n",
            f'    UserKnownHostsFile "{spaced}" "{laptop.ssh_dir}/other hosts"\n',
        ),
    )
    assert laptop.ssh(NAME, "true").ok
    add_ok(laptop, NAME)
    assert resolved(laptop, ALIAS)["userknownhostsfile"] == [
        f"{spaced} {laptop.ssh_dir}/other hosts"
    ]
    assert_alias_resolves_like_host(laptop)
    result = laptop.ssh(ALIAS, "true")  # StrictHostKeyChecking yes: the key must be found
    assert result.ok, result


@SHARED
@pytest.mark.parametrize("token", ["%n", "%k"])
def test_an_identity_file_named_by_alias_token_is_the_hosts_key(laptop: Laptop, token: str) -> None:
    keys = laptop.ssh_dir / "keys"
    keys.mkdir()
    for suffix in ("", ".pub"):
        os.replace(f"{laptop.identity}{suffix}", f"{keys / NAME}{suffix}")
    edit(
        laptop,
        lambda text: text.replace(
            f"    IdentityFile {laptop.identity}\n", f"    IdentityFile {keys}/{token}\n"
        ),
    )
    assert laptop.ssh(NAME, "true").ok
    add_ok(laptop, NAME)
    assert resolved(laptop, ALIAS)["identityfile"] == [f"{keys}/{NAME}"]
    assert_alias_resolves_like_host(laptop)
    result = laptop.ssh(ALIAS, "true")  # IdentitiesOnly: that key alone can log in
    assert result.ok, result


def test_setenv_with_quotes_and_several_pairs_reaches_the_remote(
    make_workstation: Callable[..., Sshd], make_laptop: Callable[..., Laptop]
) -> None:
    laptop = make_laptop(make_workstation(extra_config=["AcceptEnv GREETING A B"]))
    edit(
        laptop,
        lambda text: text.replace(
            f"Host {NAME}\n", f'Host {NAME}\n    SetEnv GREETING="hello world" A=1 B=2\n'
        ),
    )
    show_env = ["sh", "-c", "'echo \"$GREETING|$A|$B\"'"]
    assert laptop.ssh(NAME, *show_env).stdout.strip() == "hello world|1|2"
    add_ok(laptop, NAME)
    managed = (laptop.ssh_dir / "jssh" / "config").read_text()
    assert managed.count("SetEnv") == 1
    assert_alias_resolves_like_host(laptop)
    result = laptop.ssh(ALIAS, *show_env)
    assert result.ok, result
    assert result.stdout.strip() == "hello world|1|2"


# -- 10: a block that goes stale ---------------------------------------------------------


def test_a_match_exec_drift_is_refreshed_by_the_next_cold_up(laptop: Laptop) -> None:
    vpn = laptop.root / "vpn-on"
    real_port = laptop.port
    edit(
        laptop,
        lambda text: text.replace(f"    Port {real_port}\n", "").replace(
            "# an old box",
            f'Match originalhost {NAME} exec "test -e {vpn}"\n    Port {real_port}\n'
            f"Match originalhost {NAME}\n    Port 9\n\n# an old box",
        ),
    )
    add_ok(laptop, NAME)  # the "VPN" is off: the host's port is 9, where nothing listens
    assert resolved(laptop, ALIAS)["port"] == ["9"]

    vpn.touch()
    doctor = laptop.jssh("doctor", NAME, "--json")
    (drift,) = [c for c in json.loads(doctor.stdout) if c["check"] == "drift"]
    assert not drift["ok"]
    assert f"Port 9 -> {real_port}" in drift["detail"]
    assert f"jssh up {NAME}" in drift["fix"]

    result = laptop.jssh("up", NAME, "--no-open", timeout=120)
    assert result.ok, result
    assert f"refreshed {ALIAS}'s ssh block" in result.stderr
    assert f"Port 9 -> {real_port}" in result.stderr
    url = result.stdout.strip().splitlines()[-1]
    assert api(url, "/api/status", token=token_of(url))[0] == 200
    assert_alias_resolves_like_host(laptop)


@SHARED
def test_the_watchdog_refreshes_a_block_when_an_editor_saves_the_stowed_config(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    real_port = laptop.port
    target = stow(laptop)
    link = os.readlink(laptop.ssh_config)
    target.write_text(target.read_text().replace(f"    Port {real_port}\n", "    Port 9\n"))
    add_ok(laptop, NAME)
    assert resolved(laptop, ALIAS)["port"] == ["9"]
    watcher = watch(laptop)

    # An editor saves the dotfile: a new file renamed over the old, beside it.
    saved = target.with_name(".config.swp")
    saved.write_text(target.read_text().replace("    Port 9\n", f"    Port {real_port}\n"))
    os.replace(saved, target)

    watcher.wait_for(rf"{NAME}: refreshed {ALIAS}'s ssh block.*Port 9 -> {real_port}")
    assert resolved(laptop, ALIAS)["port"] == [str(real_port)]
    assert laptop.ssh(ALIAS, "true").ok  # plain ssh uses the fresh block at once
    assert os.readlink(laptop.ssh_config) == link


@SHARED
def test_a_block_that_drifted_while_no_watchdog_ran_is_refreshed_when_it_starts(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    real_port = laptop.port
    edit(laptop, lambda text: text.replace(f"    Port {real_port}\n", "    Port 9\n"))
    add_ok(laptop, NAME)
    edit(laptop, lambda text: text.replace("    Port 9\n", f"    Port {real_port}\n"))

    watch(laptop).wait_for(rf"{NAME}: refreshed {ALIAS}'s ssh block.*Port 9 -> {real_port}")
    assert resolved(laptop, ALIAS)["port"] == [str(real_port)]


@SHARED
def test_the_watchdog_follows_a_new_file_in_an_included_directory(
    laptop: Laptop, watch: Callable[[Laptop], Watcher]
) -> None:
    real_port = laptop.port
    conf_d = laptop.ssh_dir / "config.d"
    conf_d.mkdir()
    edit(
        laptop,
        lambda text: (
            f"Include {conf_d}/*.conf\n" + text.replace(f"    Port {real_port}\n", "    Port 9\n")
        ),
    )
    add_ok(laptop, NAME)
    watcher = watch(laptop)

    (conf_d / "notes.txt").write_text(f"Host {NAME}\n    Port 1\n")  # not Included
    (conf_d / "50-vpn.conf").write_text(f"Host {NAME}\n    Port {real_port}\n")

    watcher.wait_for(rf"{NAME}: refreshed {ALIAS}'s ssh block.*Port 9 -> {real_port}")
    assert resolved(laptop, ALIAS)["port"] == [str(real_port)]
    assert "Port 1" not in watcher.output()


# -- 11, 12: what HOST can be ----------------------------------------------------------------


@SHARED
def test_bare_ipv6_hosts_are_taken_and_a_wrong_form_names_the_right_one(laptop: Laptop) -> None:
    user = laptop.workstation.user
    assert laptop.jssh_in_process("add", f"{user}@::1", "--name", "v6").ok
    assert laptop.jssh_in_process("add", "::1", "--name", "v6b").ok
    alias = resolved(laptop, "v6-jupyter")
    assert (alias["hostname"], alias["user"]) == (["::1"], [user])
    assert resolved(laptop, "v6b-jupyter")["hostname"] == ["::1"]

    wrong = laptop.jssh_in_process("add", f"{user}@::1:x")
    assert wrong.returncode == 2
    assert "user@[::1]:2222" in wrong.stderr


@SHARED
def test_an_unknown_host_is_added_with_a_warning_that_says_what_was_assumed(
    laptop: Laptop,
) -> None:
    result = laptop.jssh_in_process("add", "nosuchhost.invalid")
    assert result.ok, result
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "'nosuchhost.invalid' is not a Host in your ssh config" in warning
    assert "does not resolve here" in warning
    assert "@nosuchhost.invalid:22" in warning
    assert "your local user name" in warning
    assert "warning" not in laptop.jssh_in_process("add", NAME).stderr


# -- 13: hosts.json, hand-edited or hostile --------------------------------------------------


def hosts_json(laptop: Laptop) -> Path:
    return laptop.ssh_dir / "jssh" / "hosts.json"


def one_clear_line(result: object, code: int, words: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == code, result  # type: ignore[attr-defined]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert words in lines[0], stderr
    assert "Traceback" not in stderr


@SHARED
@pytest.mark.parametrize(
    ("garbage", "words"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps({"version": 2, "hosts": {}}), "written by a newer jssh"),
    ],
    ids=["nested", "newer"],
)
def test_a_hosts_json_jssh_cannot_read_is_one_line_and_left_as_it_is(
    laptop: Laptop, garbage: str, words: str
) -> None:
    add_ok(laptop, NAME)
    hosts_json(laptop).write_text(garbage)
    for command in (["list"], ["show", NAME], ["url", NAME], ["remove", NAME]):
        one_clear_line(laptop.jssh_in_process(*command), 3, words)
        assert hosts_json(laptop).read_text() == garbage


@SHARED
def test_a_damaged_entry_is_named_kept_and_removable_and_the_others_work(laptop: Laptop) -> None:
    original = laptop.ssh_config.read_bytes()
    add_ok(laptop, NAME)
    add_ok(laptop, NAME, "--name", "other")
    data = json.loads(hosts_json(laptop).read_text())
    data["include_text"] = 5
    data["hosts"][NAME]["ssh_options"].append(["User", "x\nHost *\n    ProxyCommand touch /tmp/x"])
    hosts_json(laptop).write_text(json.dumps(data))
    damaged = data["hosts"][NAME]

    listed = laptop.jssh_in_process("list")
    assert listed.ok, listed
    warnings = listed.stderr.strip().splitlines()
    assert len(warnings) == 2
    assert "ssh_options[" in warnings[0]
    assert "contains a newline" in warnings[0]
    assert f"`jssh remove {NAME}`" in warnings[0]
    assert '"include_text" is damaged (5)' in warnings[1]
    one_clear_line(laptop.jssh_in_process("show", NAME), 3, "is damaged")

    # Another change rewrites the managed file: no `Host *` of the entry's in it, and the
    # damaged entry is still there as it was.
    add_ok(laptop, NAME, "--name", "third")
    assert "Host *" not in (laptop.ssh_dir / "jssh" / "config").read_text()
    assert json.loads(hosts_json(laptop).read_text())["hosts"][NAME] == damaged
    assert laptop.ssh("other-jupyter", "true").ok

    remove_ok(laptop, NAME)
    assert NAME not in json.loads(hosts_json(laptop).read_text())["hosts"]
    remove_ok(laptop, "other")
    remove_ok(laptop, "third")
    assert laptop.ssh_config.read_bytes() == original  # our exact lines, known again


@SHARED
def test_a_file_where_the_hosts_state_dir_should_be_does_not_stop_remove(laptop: Laptop) -> None:
    add_ok(laptop, NAME)
    state = laptop.state_dir / "hosts" / NAME
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("not a directory")
    removed = laptop.jssh("remove", NAME)
    assert removed.ok, removed
    assert "Traceback" not in removed.stderr
    assert not state.exists()


# -- 14: the remote state remove takes away (and never makes) ---------------------------------


@SHARED
def test_remove_of_a_host_never_brought_up_leaves_no_remote_state(laptop: Laptop) -> None:
    add_ok(laptop, NAME, "--name", "never-up")
    remove_ok(laptop, "never-up")
    assert not (laptop.workstation.remote_home / ".jssh" / "never-up").exists()
