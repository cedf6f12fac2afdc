"""`jssh doctor`'s look at the remote: is jupyter there, can it listen on a unix socket,
is tmux there. One read-only script, through the master or one BatchMode connection."""

from __future__ import annotations

import re
import shlex

from jssh import remote
from jssh.commands.checks import Check, ok, problem
from jssh.errors import JsshError
from jssh.hosts import HostRecord
from jssh.ssh import Ssh, last_line

# jupyter_server 1.9.0 is the first to listen on a unix socket (`--sock`, ported from
# notebook 6.1 in jupyter_server PR #525); 1.12.1 and 1.24.0 were seen serving on one.
MIN_SOCKET_SERVER = (1, 9)
CONNECT_TIMEOUT = 5  # seconds: a doctor should answer quickly about an unreachable host


def remote_checks(ssh: Ssh, record: HostRecord) -> list[Check]:
    """jupyter (and its unix-socket support) and tmux on the remote, read-only."""
    name = record.name
    script = remote.inspect_script(record)
    try:
        result = ssh.probe(
            record.alias, ["sh", "-s"], input_text=script,
            connect_timeout=CONNECT_TIMEOUT, timeout=60,
        )  # fmt: skip
    except JsshError as exc:
        return [problem("jupyter", name, exc.message, exc.hint)]
    reply = remote.parse_reply(result.stdout, result.returncode)
    if reply.get("FOUND") is None and reply.get("NOTFOUND") is None:
        return [
            problem(
                "jupyter",
                name,
                f"the check could not run on {name}: {last_line(result.stderr)}",
                f"see what ssh says: `ssh -v {record.alias} true`",
            )
        ]
    return [_jupyter(record, reply), _tmux(record, reply)]


def _jupyter(record: HostRecord, reply: remote.Reply) -> Check:
    name, target = record.name, shlex.quote(record.target)
    where = f" (via {record.launch.describe_finder()})"
    if record.slurm:
        where += " on the login node; the job runs it on a compute node"
    tried = reply.get("NOTFOUND")
    if tried is not None:
        return problem(
            "jupyter",
            name,
            f"jupyter was not found on {name}; tried {tried}",
            "install JupyterLab there (`pip install jupyterlab`), or tell jssh where it"
            f" is: `jssh add {target} --name {name} --venv PATH`"
            " (or --conda ENV, --login-shell, --command CMD)",
        )
    path = reply.get("FOUND") or "jupyter"
    version = reply.get("SERVERVERSION")
    if version is None:
        why = reply.get("NOSERVER") or "no output"
        return problem(
            "jupyter",
            name,
            f"found {path}{where}, but `jupyter server --version` failed: {why}",
            "install JupyterLab (it brings jupyter_server) in that environment:"
            " `pip install -U jupyterlab`",
        )
    found = version_tuple(version)
    sockets = found is not None and found >= MIN_SOCKET_SERVER
    if record.endpoint.socket and not sockets:
        return problem(
            "jupyter",
            name,
            f"{path}{where} has jupyter_server {version}, which can't listen on a unix"
            f" socket (that needs {_dotted(MIN_SOCKET_SERVER)} or later)",
            f"upgrade it on {name}:"
            f" `pip install -U 'jupyter_server>={_dotted(MIN_SOCKET_SERVER)}'`;"
            f" or serve on a loopback port: `jssh add {target} --name {name}"
            " --remote-port 8888`",
        )
    return ok(
        "jupyter",
        name,
        f"{path}{where}, jupyter_server {version} (unix sockets: {'yes' if sockets else 'no'})",
    )


def _tmux(record: HostRecord, reply: remote.Reply) -> Check:
    name = record.name
    version = reply.get("TMUX")
    if version:
        return ok("tmux", name, f"{version}: Jupyter runs detached in a tmux session")
    if record.slurm:
        return ok("tmux", name, "not found, and not needed: Jupyter runs in a Slurm job")
    # Not a failure: `up` falls back to nohup, and the server survives logouts as well.
    return ok(
        "tmux",
        name,
        "not found on the remote PATH: Jupyter runs under nohup instead (install tmux"
        " there for a session you can attach to)",
    )


def version_tuple(version: str) -> tuple[int, int] | None:
    """(major, minor) of a version string such as `1.24.0` or `2.0.0rc1`."""
    match = re.match(r"\s*(\d+)(?:\.(\d+))?", version)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def _dotted(version: tuple[int, int]) -> str:
    return ".".join(str(part) for part in version)
