"""`jssh add / remove / list / show`: the managed ssh config, against the real sshd lab.

Each test reads as a statement about what a user sees: what plain `ssh` does with the
managed alias, and what happens to the bytes of the user's own config.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from lab import Laptop, Sshd

# Nothing here starts anything on the workstation: add/remove edit local files, and
# the logins (`ssh ... whoami`) end with the command.
pytestmark = pytest.mark.shared_workstation

RESOLVED_KEYS = (
    "hostname",
    "user",
    "port",
    "identityfile",
    "userknownhostsfile",
    "stricthostkeychecking",
    "identitiesonly",
)


def resolved(laptop: Laptop, host: str) -> dict[str, list[str]]:
    result = laptop.ssh("-G", host)
    assert result.ok, result
    settings: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, []).append(value)
    return settings


def test_alias_resolves_like_the_host_it_was_added_from(laptop: Laptop) -> None:
    added = laptop.jssh("add", "workstation")
    assert added.ok, added
    assert "workstation-jupyter" in added.stdout

    host = resolved(laptop, "workstation")
    alias = resolved(laptop, "workstation-jupyter")
    for key in RESOLVED_KEYS:
        assert alias[key] == host[key], key


def test_managed_block_overrides_the_users_own_control_settings(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    alias = resolved(laptop, "workstation-jupyter")
    managed_cm = laptop.ssh_dir / "jssh" / "cm"

    assert alias["controlmaster"] == ["auto"]  # the user's Host * says "no"
    assert alias["controlpersist"] == ["yes"]  # the user's Host * says "no"
    assert alias["controlpath"][0].startswith(f"{managed_cm}/")
    assert alias["serveraliveinterval"] == ["5"]  # the user's Host * says 60
    assert alias["serveralivecountmax"] == ["3"]
    assert alias["exitonforwardfailure"] == ["yes"]
    assert alias["localforward"] == [
        f"[127.0.0.1]:8899 /tmp/jssh-{laptop.workstation.user}/workstation.sock"
    ]
    # ...while the user's own host keeps the user's settings.
    assert resolved(laptop, "workstation")["controlmaster"] == ["false"]


def test_plain_ssh_to_the_alias_logs_in(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    result = laptop.ssh("workstation-jupyter", "whoami")
    assert result.ok, result
    assert result.stdout.strip() == laptop.workstation.user


def test_managed_files_are_private(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    managed = laptop.ssh_dir / "jssh"
    assert stat.S_IMODE(managed.stat().st_mode) == 0o700
    for name in ("config", "hosts.json"):
        assert stat.S_IMODE((managed / name).stat().st_mode) == 0o600, name


def test_include_goes_before_the_first_host_line_and_add_then_remove_restores_every_byte(
    laptop: Laptop,
) -> None:
    original = laptop.ssh_config.read_bytes()

    assert laptop.jssh("add", "workstation").ok
    text = laptop.ssh_config.read_text()
    include_at = text.index("Include ")
    assert include_at < text.index("\nHost ")
    assert [line for line in text.splitlines() if line.startswith("Include ")] == [
        f"Include {laptop.ssh_dir}/jssh/config"
    ]

    removed = laptop.jssh("remove", "workstation")
    assert removed.ok, removed
    assert laptop.ssh_config.read_bytes() == original
    assert not (laptop.ssh_dir / "jssh" / "config").exists()


def test_a_backup_of_the_users_config_is_kept_before_the_first_change(laptop: Laptop) -> None:
    original = laptop.ssh_config.read_bytes()
    assert laptop.jssh("add", "workstation").ok
    backups = sorted((laptop.ssh_dir / "jssh" / "backup").iterdir())
    assert [b.read_bytes() for b in backups] == [original]


def test_missing_user_config_is_created_and_removed_again(laptop: Laptop) -> None:
    laptop.ssh_config.unlink()
    assert laptop.jssh("add", "laptop-less.example.org").ok
    assert "Include " in laptop.ssh_config.read_text()
    assert laptop.jssh("remove", "laptop-less").ok
    assert not laptop.ssh_config.exists()


def test_adding_again_with_the_same_arguments_changes_nothing(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    files = [
        laptop.ssh_config,
        laptop.ssh_dir / "jssh" / "config",
        laptop.ssh_dir / "jssh" / "hosts.json",
    ]
    before = [(f.read_bytes(), f.stat().st_mtime_ns) for f in files]

    again = laptop.jssh("add", "workstation")
    assert again.ok, again
    assert "unchanged" in again.stdout
    assert [(f.read_bytes(), f.stat().st_mtime_ns) for f in files] == before


def test_adding_again_with_new_arguments_updates_the_block_in_place(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    updated = laptop.jssh("add", "workstation", "--local-port", "9123", "--remote-port", "8888")
    assert updated.ok, updated
    assert "updated" in updated.stdout
    managed = (laptop.ssh_dir / "jssh" / "config").read_text()
    assert managed.count("Host workstation-jupyter") == 1
    assert resolved(laptop, "workstation-jupyter")["localforward"] == [
        "[127.0.0.1]:9123 [127.0.0.1]:8888"
    ]


def test_readding_picks_up_edits_to_the_users_host(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    text = laptop.ssh_config.read_text()
    laptop.ssh_config.write_text(text.replace("    Port ", "    Compression yes\n    Port "))
    assert laptop.jssh("add", "workstation").ok
    assert resolved(laptop, "workstation-jupyter")["compression"] == ["yes"]


def test_user_at_host_colon_port_works_without_any_config_entry(laptop: Laptop) -> None:
    ws = laptop.workstation
    added = laptop.jssh("add", f"{ws.user}@127.0.0.1:{ws.port}", "--name", "direct")
    assert added.ok, added
    alias = resolved(laptop, "direct-jupyter")
    assert alias["user"] == [ws.user]
    assert alias["port"] == [str(ws.port)]
    assert alias["hostname"] == ["127.0.0.1"]


def test_name_defaults_to_the_first_label_of_a_bare_host_name(laptop: Laptop) -> None:
    added = laptop.jssh("add", "gpu01.lab.example.org")
    assert added.ok, added
    names = [h["name"] for h in json.loads(laptop.jssh("list", "--json").stdout)]
    assert names == ["gpu01"]


def test_list_and_show_report_every_host(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    assert laptop.jssh("add", "workstation", "--name", "second").ok

    listing = laptop.jssh("list")
    assert listing.ok
    lines = listing.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["NAME", "SSH"]
    assert [line.split()[0] for line in lines[1:]] == ["second", "workstation"]

    entries = json.loads(laptop.jssh("list", "--json").stdout)
    assert {e["local_port"] for e in entries} == {8899, 8900}

    shown = laptop.jssh("show", "second")
    assert shown.ok
    assert "Host second-jupyter" in shown.stdout
    assert "LocalForward 127.0.0.1:8900" in shown.stdout
    assert json.loads(laptop.jssh("show", "second", "--json").stdout)["local_port"] == 8900


HOSTILE = [
    "ws;touch /tmp/pwned",
    "ws host",
    "ws\nHost *",
    "-oProxyCommand=touch /tmp/pwned",
    "*",
    "!ws",
    "ws$(id)",
    "ws`id`",
    "ws|cat",
    "ws'x",
    "ws?",
    "",
]


# The hostile cases run jssh in process: what they check is all decided before jssh
# would start anything.


@pytest.mark.parametrize("host", HOSTILE)
def test_hostile_hosts_are_refused_and_nothing_is_written(laptop: Laptop, host: str) -> None:
    before = laptop.ssh_config.read_bytes()
    result = laptop.jssh_in_process("add", "--", host)
    assert result.returncode == 2, result
    assert "is not a host" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert laptop.ssh_config.read_bytes() == before
    assert not (laptop.ssh_dir / "jssh").exists()


@pytest.mark.parametrize("name", ["a;b", "a b", "-x", "x*", "a/b", "..", "ws-jupyter", "a\nb"])
def test_hostile_names_are_refused_and_nothing_is_written(laptop: Laptop, name: str) -> None:
    before = laptop.ssh_config.read_bytes()
    result = laptop.jssh_in_process("add", "workstation", "--name", name)
    assert result.returncode == 2, result
    assert "not a usable name" in result.stderr
    assert laptop.ssh_config.read_bytes() == before
    assert not (laptop.ssh_dir / "jssh").exists()


def test_four_adds_at_once_all_land(laptop: Laptop) -> None:
    procs = [
        subprocess.Popen(
            [*laptop.jssh_argv("add", "workstation", "--name", f"ws{i}")],
            env=laptop.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs

    entries = json.loads(laptop.jssh("list", "--json").stdout)
    assert sorted(e["name"] for e in entries) == ["ws0", "ws1", "ws2", "ws3"]
    assert len({e["local_port"] for e in entries}) == 4
    assert laptop.ssh_config.read_text().count("\nInclude ") == 1
    for i in range(4):
        assert resolved(laptop, f"ws{i}-jupyter")["controlmaster"] == ["auto"]


def test_an_alias_the_user_already_has_is_not_shadowed_unless_forced(laptop: Laptop) -> None:
    with laptop.ssh_config.open("a") as config:
        config.write("\nHost workstation-jupyter\n    HostName elsewhere.example.org\n")
    before = laptop.ssh_config.read_bytes()

    refused = laptop.jssh("add", "workstation")
    assert refused.returncode == 2
    assert "already has a Host named 'workstation-jupyter'" in refused.stderr
    assert laptop.ssh_config.read_bytes() == before

    forced = laptop.jssh("add", "workstation", "--force")
    assert forced.ok, forced
    assert resolved(laptop, "workstation-jupyter")["hostname"] == ["127.0.0.1"]


def test_a_config_ssh_cannot_parse_is_refused_and_left_alone(laptop: Laptop) -> None:
    with laptop.ssh_config.open("a") as config:
        config.write("\nHost broken\n    NoSuchOption yes\n")
    before = laptop.ssh_config.read_bytes()
    result = laptop.jssh("add", "workstation")
    assert result.returncode == 3, result
    assert "ssh could not read its configuration" in result.stderr
    assert "line " in result.stderr
    assert "nosuchoption" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert laptop.ssh_config.read_bytes() == before
    assert not (laptop.ssh_dir / "jssh").exists()


def test_a_control_path_too_long_for_a_socket_is_refused_with_a_fix(laptop: Laptop) -> None:
    env = dict(laptop.env, JSSH_CONTROL_DIR="/tmp/" + "d" * 75)
    result = subprocess.run(
        laptop.jssh_argv("add", "workstation"), env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr
    assert "control socket path would be" in result.stderr
    assert "JSSH_CONTROL_DIR" in result.stderr
    assert not (laptop.ssh_dir / "jssh" / "hosts.json").exists()


def test_unusual_but_valid_user_config_survives_untouched(laptop: Laptop) -> None:
    extra = laptop.ssh_dir / "extra.conf"
    extra.write_text("Host extra-box\n\tHostName 127.0.0.1\n")
    os.chmod(extra, 0o600)
    original = laptop.ssh_config.read_text()
    odd = (
        "# tabs, Key=Value, Match and Include, all legal in ssh_config\n"
        f"Include {extra}\n"
        "Match host nonexistent.example exec false\n"
        "\tUser=nobody\n"
        "Host\ttabbed.example.org\n"
        "\tPort=2200\n"
        "\tUser\t=\tsomeone\n\n"
    ) + original
    laptop.ssh_config.write_text(odd)
    before = laptop.ssh_config.read_bytes()

    assert laptop.jssh("add", "workstation").ok
    assert laptop.ssh("workstation-jupyter", "true").ok
    assert resolved(laptop, "tabbed.example.org")["port"] == ["2200"]
    assert laptop.jssh("remove", "workstation").ok
    assert laptop.ssh_config.read_bytes() == before


def test_proxyjump_carries_over_and_the_connection_goes_through_the_jump(
    make_workstation: object, make_laptop: object
) -> None:
    jump: Sshd = make_workstation()  # type: ignore[operator]
    target: Sshd = make_workstation()  # type: ignore[operator]
    laptop: Laptop = make_laptop(target)  # type: ignore[operator]
    with laptop.known_hosts.open("a") as known:
        known.write(jump.known_hosts_line() + "\n")
    text = laptop.ssh_config.read_text()
    laptop.ssh_config.write_text(
        text.replace(
            "Host workstation\n",
            f"Host jumphost\n    HostName 127.0.0.1\n    Port {jump.port}\n"
            f"    User {jump.user}\n    IdentityFile {laptop.identity}\n\n"
            "Host workstation\n    ProxyJump jumphost\n",
        )
    )
    assert laptop.jssh("add", "workstation").ok
    assert resolved(laptop, "workstation-jupyter")["proxyjump"] == ["jumphost"]

    result = laptop.ssh("workstation-jupyter", "whoami")
    assert result.ok, result
    # Nothing but the ProxyJump would log in to the jump host.
    assert "Accepted publickey for" in jump.log()


def test_unknown_names_get_one_clear_line(laptop: Laptop) -> None:
    result = laptop.jssh("show", "nope")
    assert result.returncode == 8
    assert result.stderr.strip().startswith("jssh: error: no managed host named 'nope'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_remove_of_one_host_keeps_the_include_for_the_others(laptop: Laptop) -> None:
    assert laptop.jssh("add", "workstation").ok
    assert laptop.jssh("add", "workstation", "--name", "other").ok
    assert laptop.jssh("remove", "workstation").ok
    assert "Include " in laptop.ssh_config.read_text()
    assert laptop.ssh("other-jupyter", "true").ok
    assert not laptop.ssh("-G", "workstation-jupyter").stdout.count("jssh/cm")


def test_managed_file_is_included_before_a_top_level_option(laptop: Laptop) -> None:
    laptop.ssh_config.write_text(
        "# mine\nServerAliveInterval 99\n\n" + laptop.ssh_config.read_text()
    )
    assert laptop.jssh("add", "workstation").ok
    assert resolved(laptop, "workstation-jupyter")["serveraliveinterval"] == ["5"]
    head = laptop.ssh_config.read_text().splitlines()[:3]
    assert head[0] == "# mine"
    assert head[2].startswith("Include ")
