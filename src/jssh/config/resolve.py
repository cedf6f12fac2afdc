"""What `Host NAME-jupyter` must say to reach HOST exactly as `ssh HOST` does, and
whether that is still so (drift).

`ssh -G HOST` gives the fully resolved settings; every one that differs from OpenSSH's
defaults is carried into the block (jssh.config.values writes it back in config
syntax), followed by the guards against the user's `Host *`. Then jssh checks its own
work: `ssh -G NAME-jupyter` against a probe copy of the final config, carrying whatever
still differs (a `Host *` value that HOST's own block had overridden, say).

The copy goes stale when the user's config changes, or when it depends on the moment
(`Match exec "test -e ~/.vpn-on"`): a cold `jssh up` asks again (`refresh`), and
`jssh doctor` reports it (`drift`).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import socket
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from jssh.config.keywords import spelled
from jssh.config.sshconfig import (
    ALWAYS_CARRIED,
    GUARDS,
    JSSH_KEYWORDS,
    NOT_CARRIED,
    blank_includes,
    render_managed,
)
from jssh.config.store import Store
from jssh.config.userconfig import FORWARDS, ConfigLine, read_config, settings_for
from jssh.config.values import RAW_TOKENS, config_lines, replace_tokens
from jssh.errors import ConfigError, JsshError
from jssh.hosts import Endpoint, HostRecord
from jssh.names import Target, parse_target
from jssh.paths import Paths, passwd_home
from jssh.ssh import Settings, Ssh

DEV_NULL = Path("/dev/null")
# Keywords ssh accepts `none` for, so a value leaking in from a pattern can be undone.
_NONE_ABLE = {"proxycommand", "proxyjump", "localcommand", "identityagent", "hostkeyalias"}
_PROBE_ROUNDS = 3
RESOLVE_TIMEOUT = 3.0  # seconds for the name lookup behind `add`'s warning


@dataclass(frozen=True)
class Resolved:
    """`ssh -G HOST` with the user's config, and with none (OpenSSH's own defaults)."""

    target: Target
    settings: Settings
    defaults: Settings
    known: frozenset[str]  # the keywords this ssh knows (every one -G prints, and more)

    @property
    def user(self) -> str:
        return self.settings.get("user", [""])[0]

    @property
    def tokens(self) -> dict[str, str]:
        """What `%n` and `%k` mean for HOST."""
        host = self.target.host
        return {"n": host, "k": self.settings.get("hostkeyalias", [host])[0]}


@dataclass(frozen=True)
class Block:
    """A record whose ssh_options reach HOST as `ssh HOST` does, and what jssh found."""

    record: HostRecord
    resolved: Resolved
    probed: Settings  # `ssh -G NAME-jupyter` with the block as written
    notes: list[str]
    warnings: list[str]


def resolve(paths: Paths, ssh: Ssh, target: Target) -> Resolved:
    """Ask ssh what HOST resolves to (about 5 ms a question)."""
    # A config that doesn't exist yet is an empty one (ssh -F would refuse it).
    missing = not paths.ssh_config.exists() and not paths.ssh_config_is_default
    settings = ssh.resolve(target.host, target.ssh_args(), config=DEV_NULL if missing else None)
    # -G prints every keyword it knows except a few that are unset by default; of
    # those the guards need RemoteCommand (OpenSSH 7.6). An older ssh refuses it.
    try:
        defaults = ssh.resolve(
            target.host, [*target.ssh_args(), "-o", "RemoteCommand=none"], config=DEV_NULL
        )
        known = {*defaults, "remotecommand"}
    except ConfigError:
        defaults = ssh.resolve(target.host, target.ssh_args(), config=DEV_NULL)
        known = set(defaults)
    return Resolved(target, settings, defaults, frozenset(known))


def carried_options(resolved: Resolved) -> list[tuple[str, str]]:
    """The block's lines: every setting of HOST that differs from ssh's defaults, then
    the guards this ssh knows (an old OpenSSH never sees a keyword it would refuse)."""
    options: list[tuple[str, str]] = []
    for key, values in resolved.settings.items():
        if key in NOT_CARRIED or key in JSSH_KEYWORDS:
            continue
        if key in ALWAYS_CARRIED or values != resolved.defaults.get(key):
            options += config_lines(key, values, tokens=resolved.tokens)
    options += [(k, v) for k, v in GUARDS if k.lower() in resolved.known]
    return options


def build(
    paths: Paths, ssh: Ssh, record: HostRecord, resolved: Resolved, user_data: bytes
) -> Block:
    """RECORD with the block HOST needs, checked against the user's config USER_DATA."""
    record = replace(record, ssh_options=carried_options(resolved), remote_user=resolved.user)
    for round_ in range(_PROBE_ROUNDS):
        probed = _probe(paths, ssh, record, user_data)
        extra = _differences(resolved, probed, record)
        if not extra or round_ == _PROBE_ROUNDS - 1:
            break
        record = replace(record, ssh_options=record.ssh_options + extra)
    user_lines = read_config(
        paths.ssh_config, home=passwd_home(), skip=[paths.managed_config], data=user_data
    )
    inherited = [f.warning(record) for f in _inherited_forwards(record, probed, user_lines)]
    notes = _not_carried(resolved, probed)
    return Block(record, resolved, probed, notes, inherited)


def _probe(paths: Paths, ssh: Ssh, record: HostRecord, user_data: bytes) -> Settings:
    """`ssh -G NAME-jupyter` as it will be: our block first, then the user's config
    (without its Include of our file, whose line becomes empty so every other keeps its
    number). An error names the user's file and line, never the probe's."""
    head = (render_managed([record]) + "\nMatch all\n").encode()
    offset = head.count(b"\n")
    with tempfile.TemporaryDirectory(prefix="jssh-probe-") as tmp:
        probe = Path(tmp) / "config"
        probe.write_bytes(head + blank_includes(user_data, paths.managed_config))
        try:
            return ssh.resolve(record.alias, config=probe)
        except ConfigError as exc:
            raise _from_probe(exc, probe, offset, paths, record) from None


def _from_probe(
    exc: ConfigError, probe: Path, offset: int, paths: Paths, record: HostRecord
) -> ConfigError:
    def where(match: re.Match[str]) -> str:
        line = int(match.group(1))
        if line > offset:
            return f"{paths.ssh_config} line {line - offset}"
        return f"jssh's block for {record.alias} (line {line}, from {paths.hosts_file})"

    message = re.sub(re.escape(str(probe)) + r" line (\d+)", where, exc.message)
    message = message.replace(str(probe), str(paths.ssh_config))
    hint: str | None = exc.hint
    if "jssh's block" in message:
        hint = (
            f"jssh wrote a line ssh refuses: see `jssh show {record.name}`, and please report"
            " it with that line"
        )
    return ConfigError(message, hint=hint, kind=exc.kind)


def _normalised(key: str, values: list[str] | None, tokens: dict[str, str]) -> list[str] | None:
    """HOST's values as -G prints them back from the block (its %n and %k replaced)."""
    if values is None or key not in RAW_TOKENS:
        return values
    return [replace_tokens(value, tokens) for value in values]


def _differences(resolved: Resolved, probed: Settings, record: HostRecord) -> list[tuple[str, str]]:
    """Lines to add so that NAME-jupyter resolves as HOST does. A keyword the block
    already sets is not added again (ssh would read only the first, or add it up)."""
    present = {keyword.lower() for keyword, _ in record.ssh_options}
    extra: list[tuple[str, str]] = []
    tokens = resolved.tokens
    for key in sorted(set(resolved.settings) | set(probed)):
        if key in NOT_CARRIED or key in JSSH_KEYWORDS or key in present:
            continue
        wanted = _normalised(key, resolved.settings.get(key), tokens)
        if wanted == probed.get(key):
            continue
        if wanted is not None:
            extra += config_lines(key, resolved.settings[key], tokens=tokens)
        elif key in _NONE_ABLE:
            extra.append((spelled(key), "none"))
    return extra


def _own_forward(record: HostRecord, value: str) -> bool:
    """Is VALUE (as -G prints a forward) our own? OpenSSH 9.2 prints a forward to a unix
    socket as a DynamicForward too, with the listening half alone. The extra forwards
    (`jssh forward`) are ours as well."""
    local_ports = [record.local_port] + [f.local_port for f in record.forwards]
    return any(
        value == (ours := f"[127.0.0.1]:{port}") or value.startswith(ours + " ")
        for port in local_ports
    )


@dataclass(frozen=True)
class InheritedForward:
    """A forward the user's config adds to NAME-jupyter, which no first value can undo
    (forwards add up): the line, where it sits, and the fix."""

    setting: str  # `LocalForward 8080 db:80`
    where: str  # FILE line N, under `Host *`
    fix: str

    def warning(self, record: HostRecord) -> str:
        """For `add`: what will go wrong, before it does."""
        return (
            f"`{self.setting}` ({self.where}) applies to {record.alias} too, and jssh"
            f" can't undo it (forwards add up): {record.alias}'s master would hold it as"
            f" well, and `jssh up {record.name}` fails while that port is taken;"
            f" fix: {self.fix}"
        )


def _inherited_forwards(
    record: HostRecord, probed: Settings, user_lines: list[ConfigLine]
) -> list[InheritedForward]:
    """What the user's config adds to NAME-jupyter that no first value can undo: a
    forward (forwards add up). Each named with its file and line, and the fix."""
    inherited = [
        (key, value)
        for key in FORWARDS
        for value in probed.get(key, [])
        if not _own_forward(record, value)
    ]
    if not inherited:
        return []
    found = []
    for line in settings_for(user_lines, record.alias, FORWARDS):
        setting = f"{spelled(line.keyword)} {' '.join(line.args)}"
        gate = line.gates[-1] if line.gates else None
        if gate is None:
            fix = "move it below a `Host * !*-jupyter` line, or into the Host blocks that need it"
            under = "at the top level"
        elif gate.kind == "host":
            patterns = " ".join(gate.args)
            fix = f"change `Host {patterns}` ({gate.where}) to `Host {patterns} !*-jupyter`"
            under = f"under `Host {patterns}`"
        else:
            fix = f"make `Match {' '.join(gate.args)}` ({gate.where}) skip *-jupyter hosts"
            under = f"under `Match {' '.join(gate.args)}`"
        found.append(InheritedForward(setting, f"{line.where}, {under}", fix))
    return found


def inherited_forwards(paths: Paths, ssh: Ssh, record: HostRecord) -> list[InheritedForward]:
    """For a failed `up`: the forwards that reach RECORD's alias from the user's own
    config as it is now."""
    probed = ssh.resolve(record.alias)
    user_lines = read_config(paths.ssh_config, home=passwd_home(), skip=[paths.managed_config])
    return _inherited_forwards(record, probed, user_lines)


def _not_carried(resolved: Resolved, probed: Settings) -> list[str]:
    """HOST's own forwards and RemoteCommand, which NAME-jupyter leaves out."""
    notes = []
    for key in ("localforward", "remoteforward", "dynamicforward", "remotecommand"):
        for value in resolved.settings.get(key, []):
            if value in probed.get(key, []):
                continue  # the alias has it too (from `Host *`): a warning says so
            notes.append(
                f"not carried from {resolved.target.host}: {spelled(key)} {value}"
                f" ({'jssh runs its own commands' if key == 'remotecommand' else 'would clash'})"
            )
    return notes


# -- add's warning: a HOST that is neither an alias nor a name that resolves -----------------


def assumption_warning(resolved: Resolved, aliases: set[str], config: Path) -> str | None:
    """When HOST is neither a Host of the user's config nor a name that resolves here,
    say so, and what jssh assumed. Hosts reached through a proxy are left alone (their
    names may resolve only there)."""
    target, settings = resolved.target, resolved.settings
    if target.host in aliases or {"proxyjump", "proxycommand"} & set(settings):
        return None
    hostname = settings.get("hostname", [target.host])[0]
    try:
        ipaddress.ip_address(hostname.split("%", 1)[0])
        return None
    except ValueError:
        pass
    problem = _lookup_problem(hostname)
    if problem is None:
        return None
    assumed = []
    if target.user is None and settings.get("user") == resolved.defaults.get("user"):
        assumed.append(f"your local user name, {resolved.user}")
    if target.port is None and settings.get("port") == resolved.defaults.get("port"):
        assumed.append(f"ssh's default port, {settings.get('port', ['22'])[0]}")
    port = settings.get("port", ["22"])[0]
    how = f"{resolved.user}@{hostname}:{port}"
    return (
        f"{target.host!r} is not a Host in your ssh config ({config}) and {problem};"
        f" jssh took it for a host name and will reach it as {how}"
        + (f" ({' and '.join(assumed)})" if assumed else "")
        + f"; if that is wrong, check the spelling, add a `Host {target.host}` block to"
        " your config, or give user@host:port"
    )


def _lookup_problem(hostname: str) -> str | None:
    """Why HOSTNAME does not resolve here; None when it does, or when the lookup takes
    longer than RESOLVE_TIMEOUT (a slow resolver is not a wrong name)."""
    outcome: list[str | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(hostname, None)
            outcome.append(None)
        except (OSError, UnicodeError) as exc:
            outcome.append(f"does not resolve here ({getattr(exc, 'strerror', None) or exc})")

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(RESOLVE_TIMEOUT)
    return outcome[0] if outcome else None


# -- drift: the block no longer says what HOST resolves to ------------------------------------


@dataclass(frozen=True)
class Drift:
    """RECORD's block is stale: the refreshed record, and what changed."""

    record: HostRecord
    changes: list[str]

    def describe(self, limit: int = 3) -> str:
        shown = "; ".join(self.changes[:limit])
        more = len(self.changes) - limit
        return shown + (f"; and {more} more" if more > 0 else "")


def drift(paths: Paths, ssh: Ssh, record: HostRecord) -> Drift | None:
    """Resolve RECORD's HOST again and rebuild its block; the Drift when it differs."""
    resolved = resolve(paths, ssh, parse_target(record.target))
    fresh = build(paths, ssh, record, resolved, Store(paths).read_user_config()).record
    fresh = replace(fresh, endpoint=_endpoint_for(record, fresh.remote_user))
    if fresh.ssh_options == record.ssh_options and fresh.remote_user == record.remote_user:
        return None
    return Drift(fresh, _changes(record, fresh))


def drift_status(paths: Paths, ssh: Ssh, record: HostRecord) -> tuple[bool, str, str | None]:
    """For `jssh doctor`: (ok, what was found, the fix)."""
    try:
        found = drift(paths, ssh, record)
    except JsshError as exc:
        return False, f"could not resolve {record.target} again: {exc.message}", exc.hint
    if found is None:
        return True, f"{record.alias} still matches `ssh -G` for {record.target}", None
    return (
        False,
        f"{record.alias}'s block no longer matches `ssh -G` for {record.target} (your ssh"
        f" config changed, or a Match depends on the moment): {found.describe()}",
        f"`jssh up {record.name}` refreshes it (or: `jssh add {shlex.quote(record.target)}"
        f" --name {record.name}`)",
    )


def refresh(paths: Paths, ssh: Ssh, record: HostRecord) -> tuple[HostRecord, str | None]:
    """For a cold `up`: when RECORD's block drifted, rewrite it. (The record to use,
    and one line saying what was refreshed, or None.) Any failure here leaves the block
    as it was: `up` goes on, and ssh itself reports a config it can't read."""
    try:
        found = drift(paths, ssh, record)
        if found is None:
            return record, None
        with Store(paths).transaction() as registry:
            current = registry.hosts.get(record.name)
            if current is not None:
                registry.hosts[record.name] = replace(
                    current,
                    ssh_options=found.record.ssh_options,
                    remote_user=found.record.remote_user,
                    endpoint=_endpoint_for(current, found.record.remote_user),
                )
                record = registry.hosts[record.name]
    except (JsshError, OSError):
        return record, None
    return record, (
        f"{record.name}: refreshed {record.alias}'s ssh block, which no longer matched"
        f" `ssh -G {parse_target(record.target).host}` ({found.describe()})"
    )


def _endpoint_for(record: HostRecord, user: str) -> Endpoint:
    """The default socket path has the remote user in it: it follows a new user."""
    default = f"/tmp/jssh-{record.remote_user or 'user'}/{record.name}.sock"  # noqa: S108
    if record.endpoint.socket == default and user != record.remote_user:
        return Endpoint(socket=f"/tmp/jssh-{user or 'user'}/{record.name}.sock")  # noqa: S108
    return record.endpoint


def _changes(old: HostRecord, new: HostRecord) -> list[str]:
    """`Port 2201 -> 2222`, `ProxyJump gw added`: what differs, keyword by keyword."""
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    for options, into in ((old.ssh_options, before), (new.ssh_options, after)):
        for keyword, value in options:
            into.setdefault(spelled(keyword), []).append(value)
    changes = []
    for keyword in dict.fromkeys([*before, *after]):
        was, now = " ".join(before.get(keyword, [])), " ".join(after.get(keyword, []))
        if keyword not in before:
            changes.append(f"{keyword} {now} added")
        elif keyword not in after:
            changes.append(f"{keyword} {was} dropped")
        elif was != now:
            changes.append(f"{keyword} {was} -> {now}")
    if old.remote_user != new.remote_user and not changes:
        changes.append(f"user {old.remote_user} -> {new.remote_user}")
    return changes
