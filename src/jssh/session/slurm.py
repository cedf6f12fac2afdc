"""Jupyter inside a Slurm job on a compute node, tunnelled through the login node.

A host added with `jssh add HOST --slurm "SBATCH ARGS"` is a cluster's login node.
`up` submits (or finds) a batch job named `jssh-NAME` that runs Jupyter on its compute
node, on a unix socket in a private 0700 directory there (or the node's loopback with
--remote-port), then reaches it like this:

    laptop 127.0.0.1:LOCAL ── master `NAME-jupyter-node` ──(ProxyJump)──> node: Jupyter
                                         │
                               master `NAME-jupyter` (login node; squeue, sbatch, scancel)

The node's master is an ssh connection to the node itself, jumped through the login
node's master (`ssh -W` as a mux client): no listener on the login node, nothing
another user there can reach, the user's own keys and host key checking, and on
clusters with pam_slurm_adopt the node's sshd puts the connection into the job, so it
ends with the job. The login node's block carries no forward (the node's master owns
the local port); `jssh up` writes the node's name into `Host NAME-jupyter-node`.

The token never appears on a command line: the script that submits the job travels on
stdin, writes the token to a 0600 file in ~/.jssh/NAME/ (0700; the home is shared
with the nodes, as on any cluster) and the job's run.sh reads it into JUPYTER_TOKEN.

Remote layout (shared home), per host NAME, beside what remote.py keeps there:
    ~/.jssh/NAME/job.sh     the batch script: makes the socket dir, execs run.sh
    ~/.jssh/NAME/job.log    the job's output, Jupyter's log included (job.log.1: before)
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace

from jssh import remote, watchstatus
from jssh.errors import JsshError, RemoteError, WaitTimeout
from jssh.failures import SshFailure
from jssh.hosts import HostRecord
from jssh.paths import Paths
from jssh.progress import Silent
from jssh.session import forwards
from jssh.session.idle import idle_state
from jssh.session.lifecycle import HostParts
from jssh.session.replies import parse_uptime
from jssh.session.slurm_jobs import (
    ACTIVE_STATES,
    NODE_RE,
    JobEnded,
    Jobs,
    QueueTimeout,
    clock,
    login_node_failure,
    parse_jobs,
    sbatch_words,
    scontrol_fields,
)
from jssh.ssh import Ssh
from jssh.states import JOB_GONE, HostStatus, JobInfo, ServerState, UpResult

__all__ = [
    "DEFAULT_QUEUE_WAIT",
    "JobEnded",
    "QueueTimeout",
    "SlurmBackend",
    "job_alive",
    "sbatch_words",
]

DEFAULT_QUEUE_WAIT = 300.0  # seconds `up` waits for a PENDING job to start


class SlurmBackend:
    """Jupyter in a Slurm job on NAME's cluster, reached through the node's own master."""

    def __init__(
        self,
        parts: HostParts,
        *,
        queue_wait: float | None = None,
    ) -> None:
        self.parts = parts
        self.paths, self.ssh = parts.paths, parts.ssh
        self.files, self.tunnel, self.say = parts.files, parts.tunnel, parts.say
        self.queue_wait = DEFAULT_QUEUE_WAIT if queue_wait is None else queue_wait
        self._job_id: str | None = None  # the job this `up` found or submitted

    @property
    def record(self) -> HostRecord:
        return self.parts.record

    # -- up ------------------------------------------------------------------------
    def lock_timeout(self, wait: float) -> float:
        return wait + self.queue_wait

    def keeps_login_after(self, failure: BaseException) -> bool:
        # While the job lives on (queued, or running without our tunnel), keep the way
        # to it open for `status` and `down`; else leave nothing behind.
        return self._job_id is not None and not isinstance(failure, JobEnded)

    def bring_up(self, *, interactive: bool, wait: float, use_tmux: bool) -> UpResult:
        """Find or submit the job, wait for it (bounded), tunnel to its node.

        `wait` bounds Jupyter's start once the job runs; `queue_wait` (constructor)
        bounds the time in the queue. `use_tmux` does not apply: Slurm runs Jupyter.
        """
        record = self.record
        words = sbatch_words(record)
        self._job_id = None
        self.parts.progress.step(f"finding or submitting the Slurm job for {record.name}…")
        job_id, token, reused = self._find_or_submit(words)
        self._job_id = job_id
        self.files.save_job(job_id, None)
        job = self._wait_until_running(job_id)
        self.say(f"{record.name}: Slurm job {job_id} runs on {job.node}")
        self.parts.progress.step(f"waiting for Jupyter in Slurm job {job_id} on {job.node}…")
        self._wait_until_ready(job, wait)
        node = job.node or ""
        self.files.save_job(job_id, node)
        self.files.save_token(token)
        self._tunnel_to(node, job_id, interactive)
        self.tunnel.wait_for_http(token, wait=min(wait, 30))
        return UpResult(self.record.url(token), reused, None, f"Slurm job {job_id} on {node}")

    def _find_or_submit(self, words: list[str]) -> tuple[str, str, bool]:
        """(job id, token, reused): our pending/running job, or a new one."""
        import secrets

        record = self.record
        new_token = secrets.token_urlsafe(32)
        script = remote.slurm_submit_script(record, new_token, words)
        result = self.ssh.run_script(record.alias, script, timeout=60)
        reply = remote.parse_reply(result.stdout, result.returncode)
        for key, value in reply.fields.items():
            if key == "WARN":
                self.say(f"warning: {value}")
        existing = reply.get("EXISTING")
        if existing:
            token = reply.get("TOKEN") or self.files.token()
            if not token:
                raise RemoteError(
                    f"Slurm job {existing} for {record.name} runs, but its token is unknown",
                    hint=f"start a new one: `jssh down {record.name}` then `jssh up {record.name}`",
                )
            self.say(f"{record.name}: reusing Slurm job {existing}")
            return existing, token, True
        submitted = reply.get("SUBMITTED")
        if submitted:
            self.say(f"{record.name}: submitted Slurm job {submitted}")
            return submitted, new_token, False
        raise login_node_failure(self.record, reply, result.stderr)

    def _wait_until_running(self, job_id: str) -> JobInfo:
        """Poll squeue until the job runs, bounded by queue_wait. While it waits, one
        progress line says why (Slurm's reason) and for how long: updated in place on a
        terminal, one line per change of state or reason otherwise."""
        name = self.record.name
        started = time.monotonic()
        live = self.parts.progress
        tty = not isinstance(live, Silent)
        shown = ""
        delay = 0.1
        try:
            while True:
                jobs = self._query(job_id)
                job = jobs.first()
                if job is not None and job.state == "RUNNING":
                    node = jobs.node or job.node or ""
                    if not NODE_RE.match(node):
                        raise RemoteError(
                            f"Slurm job {job_id} runs on {node!r}, which jssh can't use as a"
                            " host name"
                        )
                    return replace(job, node=node)
                if job is None or job.state not in ACTIVE_STATES:
                    raise self._ended_error(job_id, job, jobs.final, "")
                elapsed = time.monotonic() - started
                reason = job.reason or "not scheduled yet"
                why = f"{job.state.lower()} ({reason})"
                line = f"{name}: Slurm job {job_id} {why}, waited {clock(elapsed)}"
                if tty:
                    live.step(line)
                elif why != shown:
                    self.say(line)
                shown = why
                if elapsed >= self.queue_wait:
                    raise QueueTimeout(
                        f"Slurm job {job_id} for {name} did not start within"
                        f" {self.queue_wait:g} s ({job.state.lower()}: {reason}); it stays"
                        f" queued and the next"
                        f" `jssh up {name}` picks it up",
                        hint=f"to cancel it: `jssh down {name}` (or `scancel {job_id}` on the"
                        " login node)",
                    )
                time.sleep(min(delay, max(0.0, self.queue_wait - elapsed)))
                delay = min(delay * 1.5, 2.0)
        except KeyboardInterrupt:
            live.clear()
            self.say(
                f"{name}: Slurm job {job_id} stays queued: `jssh up {name}` picks it up,"
                f" `jssh down {name}` cancels it"
            )
            raise

    def _wait_until_ready(self, job: JobInfo, wait: float) -> None:
        """On the login node: wait until the job's output says Jupyter listens."""
        record = self.record
        script = remote.slurm_wait_ready_script(record, job.job_id, wait_seconds=wait)
        result = self.ssh.run_script(record.alias, script, timeout=wait + 30)
        reply = remote.parse_reply(result.stdout, result.returncode)
        if reply.get("READY") is not None:
            return
        if reply.get("ENDED") is not None:
            final = scontrol_fields(reply.get("FINAL") or "")
            raise self._ended_error(job.job_id, None, final, reply.log_tail)
        if reply.get("TIMEOUT") is not None:
            raise WaitTimeout(
                f"Jupyter in Slurm job {job.job_id} on {job.node} did not start listening"
                f" within {wait:g} s; the end of the job's output:",
                hint=f"see `jssh logs {record.name}`; the job keeps running: `jssh up"
                f" {record.name}` again reuses it, `jssh down {record.name}` cancels it",
                details=reply.log_tail or "(the job's output is empty)",
            )
        raise login_node_failure(self.record, reply, result.stderr)

    def _tunnel_to(self, node: str, job_id: str, interactive: bool) -> None:
        """Point `Host NAME-jupyter-node` at `node` and make sure its master runs."""
        record = self.record
        if record.slurm_node != node:
            if record.slurm_node is not None:
                self.ssh.stop_master(record.node_alias)  # a tunnel to an old job's node
            self._set_node(node)
        elif self.tunnel.master_pid(record.node_alias) is not None:
            return
        try:
            self.tunnel.start_master(
                interactive=interactive,
                alias=record.node_alias,
                log_path=self.paths.node_master_log(record.name),
            )
        except JsshError as exc:
            hint = exc.hint
            if exc.kind in (SshFailure.HOST_KEY_UNKNOWN, SshFailure.HOST_KEY_CHANGED):
                # Mostly a node this laptop has never seen, rather than a changed key.
                hint = (
                    f"your known_hosts needs the host key of node {node}: clusters often"
                    " publish their nodes' keys, and in a terminal `jssh up` shows ssh's"
                    " question where your config lets ssh ask"
                )
            raise type(exc)(
                f"the tunnel to node {node} (Slurm job {job_id}) failed: {exc.message}",
                hint=(hint + "; " if hint else "")
                + f"the job keeps running: `jssh up {record.name}` again reuses it,"
                f" `jssh down {record.name}` cancels it",
                details=exc.details,
                kind=exc.kind,
            ) from None

    # -- down ------------------------------------------------------------------------
    def take_down(self, *, keep_server: bool) -> list[str]:
        """Cancel the job (unless kept) and close both masters. Returns what was done."""
        record = self.record
        done: list[str] = []
        node_master = self.tunnel.master_pid(record.node_alias) if record.slurm_node else None
        if not keep_server:
            token = self.files.token()
            if node_master and token and self.tunnel.shutdown_server(token):
                done.append("asked Jupyter to shut down (kernels closed cleanly)")
            done.append(self._cancel())
            self.files.forget_job()
        if node_master is not None and self.tunnel.stop(record.node_alias):
            done.append(f"closed the tunnel to node {record.slurm_node} (pid {node_master})")
        if record.slurm_node is not None and not keep_server:
            self._set_node(None)
        login = self.tunnel.master_pid()
        if login is not None and self.tunnel.stop():
            done.append(f"closed the connection to the login node (pid {login})")
        if node_master is None and login is None:
            done.append("no tunnel was open")
        return done

    def _cancel(self) -> str:
        record = self.record
        script = remote.slurm_cancel_script(record, self.files.saved_job().get("job_id"))
        try:
            result = self.ssh.run_script(record.alias, script, timeout=60)
        except JsshError as exc:
            return f"could not reach {record.name} to cancel its Slurm job: {exc.message}"
        reply = remote.parse_reply(result.stdout, result.returncode)
        if result.returncode == 255:
            return f"could not reach {record.name} to cancel its Slurm job"
        if reply.get("NOSLURM") is not None:
            return f"scancel was not found on {record.name}: no Slurm job cancelled"
        cancelled = reply.get("CANCELLED")
        if cancelled:
            left = reply.get("LEFT")
            if left:
                return f"cancelled Slurm job {cancelled}; still listed by squeue: {left}"
            return f"cancelled Slurm job {cancelled}"
        return "no Slurm job was running"

    # -- status / logs -----------------------------------------------------------------
    def status(self, *, ask_remote: bool = True) -> HostStatus:
        record = self.record
        node_master = self.tunnel.master_pid(record.node_alias) if record.slurm_node else None
        probes = forwards.Probes(record, node_master)  # read after Slurm is asked
        login = self.tunnel.master_pid()
        token = self.files.token()
        answers, serving, foreign = self.tunnel.answer(token)
        saved = self.files.saved_job().get("job_id")
        server, uptime, detail = ServerState.UNKNOWN, None, foreign
        job: JobInfo | None = None
        if login is not None and ask_remote:
            try:
                jobs = self._query(None)
                job = jobs.first()
                if job is None and saved:
                    # Not listed as ours any more: say how it ended, if Slurm still knows.
                    ended = self._query(saved)
                    final = ended.final or {}
                    job = ended.first() or JobInfo(
                        saved, final.get("JobState") or JOB_GONE, reason=final.get("Reason")
                    )
            except JsshError as exc:
                detail = exc.message
        elif login is None:
            detail = f"no connection to {record.name}'s login node (run `jssh up {record.name}`)"
        if job is not None:
            if job.state in ACTIVE_STATES:
                server = ServerState.QUEUED if job.state == "PENDING" else ServerState.UNKNOWN
                if job.state == "RUNNING":
                    uptime = parse_uptime(job.elapsed)
                    running = serving
                    server = ServerState.RUNNING if running else ServerState.UNKNOWN
                    if not running:
                        fix = "" if node_master else f" (no tunnel: run `jssh up {record.name}`)"
                        detail = (
                            f"Slurm job {job.job_id} runs on {job.node}, but Jupyter does not"
                            f" answer through the tunnel{fix}"
                        )
            else:
                server = ServerState.STOPPED
                how = "" if job.state == JOB_GONE else f" ({job.state})"
                when = " while the tunnel was up" if node_master or answers else ""
                detail = (
                    f"Slurm job {job.job_id} ended{how}{when}; run `jssh up {record.name}` to"
                    " start a new one"
                )
        elif login is not None and ask_remote and detail is None:
            server = ServerState.STOPPED
        active = job is not None and job.state in ACTIVE_STATES
        asked = login is not None and ask_remote
        idle = idle_state(self.parts, server, serving, token, asked=asked)
        if idle.detail:
            which = f"Slurm job {job.job_id} ended: " if job is not None else ""
            detail = f"{which}{idle.detail} (in a new job)"
        return HostStatus(
            name=record.name,
            alias=record.alias,
            master_pid=node_master,
            local_port=record.local_port,
            port_answers=answers,
            server=server,
            server_pid=None,
            server_uptime_s=uptime,
            mode="slurm",
            url=record.url(token) if token and (active or job is None) else None,
            wanted=self.files.wanted,
            detail=detail,
            job=job,
            watchdog=watchstatus.last_action(self.paths, record.name),
            serving=serving,
            idle_timeout_s=record.launch.idle_timeout,
            idle_s=idle.idle_s,
            stopped_idle=idle.stopped,
            forwards=probes.finish(round_trip=False),  # Slurm is asked through another master
        )

    def current_job(self) -> JobInfo | None:
        """This host's job as Slurm sees it now (None: no job of ours is queued or running)."""
        job_id = self.files.saved_job().get("job_id")
        jobs = self._query(job_id or None)
        found = jobs.first()
        if found is None or found.state not in ACTIVE_STATES:
            return None
        return found

    def logs(self, *, lines: int, follow: bool) -> int:
        """The job's output (Jupyter's log included), from the shared home."""
        tail = 'exec tail -n "$1" ${2:+-F} -- "$HOME/.jssh/$3/job.log"'
        argv = ["sh", "-c", tail, "sh", str(lines), "follow" if follow else "", self.record.name]
        return self.tunnel.show_log(argv, follow=follow)

    # -- helpers -------------------------------------------------------------------------
    def _query(self, job_id: str | None) -> Jobs:
        record = self.record
        script = remote.slurm_query_script(record, job_id)
        result = self.ssh.run_script(record.alias, script, timeout=30)
        if result.returncode != 0:
            reply = remote.parse_reply(result.stdout, result.returncode)
            raise login_node_failure(self.record, reply, result.stderr)
        return parse_jobs(result.stdout)

    def _ended_error(
        self, job_id: str, job: JobInfo | None, final: dict[str, str] | None, tail: str
    ) -> JsshError:
        name = self.record.name
        final = final or {}
        state = final.get("JobState") or (job.state if job else "") or "gone"
        reason = final.get("Reason")
        code = final.get("ExitCode")
        how = ", ".join(
            part
            for part in (
                state,
                f"reason {reason}" if reason and reason != "None" else "",
                f"exit code {code}" if code and code != "0:0" else "",
            )
            if part
        )
        if not tail:
            tail = self._output_tail()
        self.files.forget_job()
        return JobEnded(
            f"Slurm job {job_id} for {name} ended as it started ({how}); the end of its"
            f" output (all of it: `jssh logs {name}`):",
            details=tail or "(the job's output is empty)",
        )

    def _output_tail(self) -> str:
        argv = ["sh", "-c", 'tail -n 30 -- "$HOME/.jssh/$1/job.log"', "sh", self.record.name]
        with contextlib.suppress(JsshError):
            return self.ssh.run(self.record.alias, argv, timeout=20).stdout.rstrip()
        return ""

    def _set_node(self, node: str | None) -> None:
        """Record the job's node: the store rewrites `Host NAME-jupyter-node` from it."""
        from jssh.config.store import Store

        with Store(self.paths).transaction() as registry:
            current = registry.hosts.get(self.record.name)
            if current is not None:
                registry.hosts[self.record.name] = replace(current, slurm_node=node)
        self.parts.record = replace(self.record, slurm_node=node)


def job_alive(paths: Paths, ssh: Ssh, record: HostRecord) -> bool | None:
    """Is this Slurm host's job still queued or running? (For the watchdog.)

    True/False from squeue on the login node, through its master; None when the login
    node can't be asked (no master, or the query failed): don't conclude anything then.
    """
    if not record.slurm or ssh.master_pid(record.alias) is None:
        return None
    try:
        return SlurmBackend(HostParts(paths, ssh, record, say=_quiet)).current_job() is not None
    except JsshError:
        return None


def _quiet(line: str) -> None:
    """Say nothing: the watchdog asks, and logs what it concludes itself."""
