"""Each remote script, filled in for one host: a HostRecord in, the text for `sh -s` out.

These functions only turn a record into the parameters the scripts' headers declare;
the loader does the rest. The token is one of those parameters: it travels inside the
script, on stdin, never on a command line.
"""

from __future__ import annotations

import shlex
from dataclasses import replace

from jssh.hosts import COMMAND_APPS, NAMED_APPS, HostRecord
from jssh.remote import loader
from jssh.remote.loader import Value

# A Slurm job of ours is named this + the host's name; that is how it is found again.
SLURM_JOB_PREFIX = "jssh-"


def jupyter_args(record: HostRecord) -> list[str]:
    """What follows `jupyter` (or the user's command): the app, unless the command names
    it already (`uvx --from=jupyterlab jupyter-lab`), where (only) it may listen, and
    its idle culling."""
    launch = record.launch
    args = [] if launch.named_app() else [launch.app]
    args.append("--no-browser")
    if record.endpoint.socket:
        args += ["--sock", record.endpoint.socket, "--sock-mode", "0600"]
    else:
        args += ["--ip", "127.0.0.1", "--port", str(record.endpoint.port), "--port-retries", "0"]
    return args + idle_args(launch.idle_timeout)


def idle_args(seconds: int | None) -> list[str]:
    """Jupyter's own culling, so that an idle server exits (and its Slurm job ends).

    Idle kernels are shut down after SECONDS, even with a browser tab connected (a tab
    left open on a sleeping laptop would otherwise hold a GPU forever), but never a busy
    one (`cull_busy` stays False: a long computation is not idleness). With no kernel
    left, the server shuts itself down once nothing asked anything of it for SECONDS;
    jupyter_server checks that once a minute, so it exits up to a minute later. Both
    settings exist under these names in jupyter_server 1.x and 2.x (and notebook 7).
    Terminals are not culled (a silent job in one would be killed): an open terminal
    keeps the server up, as Jupyter decides.
    """
    if not seconds:
        return []
    interval = min(60, max(1, seconds // 6))  # Jupyter's default, 300 s, is too coarse
    return [
        f"--ServerApp.shutdown_no_activity_timeout={seconds}",
        f"--MappingKernelManager.cull_idle_timeout={seconds}",
        f"--MappingKernelManager.cull_interval={interval}",
        "--MappingKernelManager.cull_connected=True",
    ]


def _words(words: list[str]) -> str:
    return " ".join(shlex.quote(word) for word in words)


def _tenths(seconds: float) -> int:
    return max(1, int(seconds * 10))


def _finder(record: HostRecord) -> dict[str, Value]:
    """find.sh's parameters (and CMD_WORDS): how this host was told to find jupyter."""
    launch = record.launch
    finder = (
        "command" if launch.command else "venv" if launch.venv else
        "conda" if launch.conda else "login" if launch.login_shell else "path"
    )  # fmt: skip
    command = launch.command or []
    return {
        "FINDER": finder,
        "VENV": launch.venv or "",
        "CONDA_ENV": launch.conda or "",
        "CMD_FIRST": command[0] if command else "",
        "CMD_WORDS": _words(command),
    }


def _run(record: HostRecord, token: str) -> dict[str, Value]:
    """write_run.sh's own parameters: the token and jupyter's arguments."""
    launch = record.launch
    return {
        "TOKEN": token,
        "JUPYTER_ARGS": _words(jupyter_args(record)),
        "EXTRA_ARGS": _words(launch.extra_args),
        "NOTEBOOK_DIR": launch.notebook_dir or "",
    }


def _host(record: HostRecord) -> dict[str, Value]:
    return {"NAME": record.name, "SOCK": record.endpoint.socket or ""}


def ensure_script(record: HostRecord, token: str, *, wait_seconds: float, use_tmux: bool) -> str:
    """ensure.sh: find NAME's server, or start one with `token` and wait for it."""
    return loader.build(
        "ensure",
        {
            **_host(record),
            **_finder(record),
            **_run(record, token),
            "WAIT_TENTHS": _tenths(wait_seconds),
            "USE_TMUX": 1 if use_tmux else 0,
        },
    )


def inspect_script(record: HostRecord) -> str:
    """Find jupyter as `up` would, without starting or writing anything (for `doctor`).
    A command that names its app is asked as plain `jupyter` (`jupyter server --version`)."""
    command = record.launch.command
    if command and record.launch.named_app():
        record = replace(record, launch=replace(record.launch, command=plain_jupyter(command)))
    return loader.build("inspect", _finder(record))


def plain_jupyter(words: list[str]) -> list[str]:
    """WORDS with the word that names the app made plain `jupyter`, so that doctor's
    `server --version` follows it: `uvx --from=jupyterlab jupyter-lab` becomes `uvx
    --from=jupyterlab jupyter` (the same environment's jupyter), `jupyter lab` `jupyter`.
    What follows the app word (its own options) is left out."""
    for i in reversed(range(len(words))):  # the app's own options after it go too
        head, slash, base = words[i].rpartition("/")
        if base in COMMAND_APPS:
            return [*words[:i], f"{head}{slash}jupyter"]
        if words[i] in NAMED_APPS and i > 0 and words[i - 1].rsplit("/", 1)[-1] == "jupyter":
            return words[:i]
    return list(words)


def status_script(record: HostRecord) -> str:
    """status.sh: is NAME's server running, since when, with which token."""
    return loader.build("status", {"NAME": record.name})


def stop_script(record: HostRecord) -> str:
    """stop.sh: stop NAME's server and remove its token and socket."""
    return loader.build("stop", _host(record))


def kernels_script(record: HostRecord) -> str:
    """kernels.sh: NAME's kernels and their last activity, asked of the server there."""
    port = record.endpoint.port or 0
    return loader.build("kernels", {**_host(record), "PORT": port})


def watch_script(record: HostRecord, *, until_start: bool = False) -> str:
    """watch.sh: block until NAME's server exits (or, `until_start`, until one runs)."""
    return loader.build("watch", {"NAME": record.name, "UNTIL": "start" if until_start else "exit"})


def ended_script(record: HostRecord) -> str:
    """ended.sh: did NAME's server, not running now, shut itself down when idle?"""
    return loader.build(
        "ended", {"NAME": record.name, "FILE": "job.log" if record.slurm else "jupyter.log"}
    )


def log_command(record: HostRecord, lines: int, follow: bool) -> list[str]:
    """argv (quoted word by word by the caller) that prints the remote server log."""
    tail = 'exec tail -n "$1" ${2:+-F} -- "$HOME/.jssh/$3/jupyter.log"'
    return ["sh", "-c", tail, "sh", str(lines), "follow" if follow else "", record.name]


# -- Slurm --------------------------------------------------------------------------------


def _job(record: HostRecord, job_id: str | None) -> dict[str, Value]:
    return {"NAME": record.name, "JOBNAME": SLURM_JOB_PREFIX + record.name, "JOBID": job_id or ""}


def slurm_submit_script(record: HostRecord, token: str, sbatch_words: list[str]) -> str:
    """slurm_submit.sh: reuse our pending/running job, or write run.sh with `token`
    and submit a new one with the user's `sbatch_words`."""
    return loader.build(
        "slurm_submit",
        {
            **_job(record, None),
            "SOCK": record.endpoint.socket or "",
            "SBATCH_WORDS": _words(sbatch_words),
            **_finder(record),
            **_run(record, token),
        },
    )


def slurm_query_script(record: HostRecord, job_id: str | None) -> str:
    """slurm_query.sh: what Slurm says about `job_id`, or (None) every job of ours."""
    return loader.build("slurm_query", _job(record, job_id))


def slurm_wait_ready_script(record: HostRecord, job_id: str, *, wait_seconds: float) -> str:
    """slurm_wait_ready.sh: wait until Jupyter in running job `job_id` listens."""
    return loader.build(
        "slurm_wait_ready", {**_job(record, job_id), "WAIT_TENTHS": _tenths(wait_seconds)}
    )


def slurm_cancel_script(record: HostRecord, job_id: str | None) -> str:
    """slurm_cancel.sh: cancel our jobs for NAME (and `job_id`), remove the token."""
    return loader.build("slurm_cancel", _job(record, job_id))


# -- for session/slurm.py until it calls slurm_*_script; then delete ----------------------
