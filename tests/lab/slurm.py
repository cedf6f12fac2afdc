"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd, as root.

Debian's `slurmctld slurmd slurm-client munge` packages (scripts/system-packages
installs them), run in the foreground on a private config: every file, socket, spool
and state dir lives in one temp dir, the daemons listen on free loopback ports, and
clients find the cluster through SLURM_CONF (give it to a workstation with
`make_workstation(extra_env={"SLURM_CONF": str(cluster.conf)})`). The one node is
`localhost`: a job runs on this machine, as the lab account that submitted it,
so the lab's sshd is also the compute node's sshd.

`close()` cancels every job, stops the daemons by pid and removes the temp dir.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import psutil

from .nonode import without_node
from .procs import LAB_ID_VAR, kill_lab_processes, new_lab_id, terminate
from .util import IS_ROOT, LabError, Result, free_port, run, short_tempdir, wait_until

__all__ = ["SLURM_BINARIES", "SlurmCluster", "slurm_missing"]

SLURM_BINARIES = {
    "/usr/sbin/munged": "munge",
    "/usr/sbin/slurmctld": "slurmctld",
    "/usr/sbin/slurmd": "slurmd",
    "/usr/bin/sbatch": "slurm-client",
}
NODE = "localhost"


def slurm_missing() -> str | None:
    """Why this machine can't run the lab's Slurm, or None when it can."""
    if not IS_ROOT:
        return "the lab's Slurm runs its daemons as root"
    missing = sorted({pkg for path, pkg in SLURM_BINARIES.items() if not os.access(path, os.X_OK)})
    if missing:
        return (
            f"Slurm is not installed (missing Debian packages: {' '.join(missing)});"
            " `scripts/system-packages` installs them as root"
        )
    return None


class SlurmCluster:
    """munged + slurmctld + slurmd on 127.0.0.1 with their own key, config and state."""

    def __init__(self, *, cpus: int | None = None) -> None:
        self.lab_id = new_lab_id("slurm")
        self.root = short_tempdir()
        os.chmod(self.root, 0o755)  # the lab account reads slurm.conf and the munge socket
        self.munge_dir = self.root / "munge"
        self.conf = self.root / "slurm.conf"
        self.state_dir = self.root / "state"
        self.spool_dir = self.root / "spool"
        self.log_dir = self.root / "log"
        self.cpus = cpus or os.cpu_count() or 1
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.timings: dict[str, float] = {}
        self._closed = False

    @property
    def munge_socket(self) -> Path:
        return self.munge_dir / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a Slurm client of this cluster (and of its daemons)."""
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "SLURM_CONF": str(self.conf),
            LAB_ID_VAR: self.lab_id,
        }

    # -- lifecycle ---------------------------------------------------------------
    def start(self, *, timeout: float = 30.0) -> SlurmCluster:
        started = time.monotonic()
        for d, mode in (
            (self.munge_dir, 0o755),
            (self.state_dir, 0o700),
            (self.spool_dir, 0o755),
            (self.log_dir, 0o700),
        ):
            d.mkdir(mode=mode)
            os.chmod(d, mode)
        key = self.munge_dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o600)
        self.conf.write_text(self.render_config())
        os.chmod(self.conf, 0o644)

        self._spawn(
            "munged",
            [
                "/usr/sbin/munged", "-F",
                f"--key-file={key}",
                f"--socket={self.munge_socket}",
                f"--pid-file={self.munge_dir / 'munged.pid'}",
                f"--seed-file={self.munge_dir / 'munged.seed'}",
                f"--log-file={self.log_dir / 'munged.log'}",
            ],
        )  # fmt: skip
        wait_until(
            lambda: self._alive("munged") and self.munge_socket.is_socket(),
            timeout=timeout,
            what="munged's socket",
        )
        self._spawn("slurmctld", ["/usr/sbin/slurmctld", "-D"])
        # Jobs run under slurmd: a compute node without node, like the workstations.
        self._spawn("slurmd", [*without_node(), "/usr/sbin/slurmd", "-D", "-N", NODE])
        try:
            wait_until(self._node_idle, timeout=timeout, what="the Slurm node to be idle")
        except LabError as exc:
            raise LabError(f"{exc}\n{self.logs()}") from None
        self.timings["daemons_to_idle_s"] = time.monotonic() - started
        return self

    def render_config(self) -> str:
        ctld_port, d_port = free_port(), free_port()
        while d_port == ctld_port:
            d_port = free_port()
        return (
            "\n".join(
                [
                    f"# jssh test lab Slurm {self.lab_id}",
                    "ClusterName=jsshlab",
                    "SlurmctldHost=localhost(127.0.0.1)",
                    f"SlurmctldPort={ctld_port}",
                    f"SlurmdPort={d_port}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    f"StateSaveLocation={self.state_dir}",
                    f"SlurmdSpoolDir={self.spool_dir}",
                    f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
                    f"SlurmdPidFile={self.root / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.log_dir / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.log_dir / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "MpiDefault=none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "MailProg=/bin/true",
                    "SchedulerParameters=batch_sched_delay=0",
                    "ReturnToService=2",
                    # scancel's SIGTERM → SIGKILL grace: short, so a test's `down` is quick.
                    "KillWait=5",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core",
                    f"NodeName={NODE} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN",
                    f"PartitionName=debug Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
                ]
            )
            + "\n"
        )

    def _spawn(self, role: str, argv: list[str]) -> None:
        with open(self.log_dir / f"{role}.out", "ab") as log:
            self.procs[role] = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.env,
                cwd=self.root,
                # Own session: a Ctrl-C meant for pytest does not reach the daemons.
                start_new_session=True,
            )

    def _alive(self, role: str) -> bool:
        proc = self.procs.get(role)
        if proc is None or proc.poll() is not None:
            raise LabError(f"{role} exited ({proc.returncode if proc else '-'})\n{self.logs()}")
        return True

    def _node_idle(self) -> bool:
        for role in ("munged", "slurmctld", "slurmd"):
            self._alive(role)
        result = self.client(["sinfo", "-h", "-n", NODE, "-o", "%T"], timeout=10)
        return result.ok and result.stdout.strip() == "idle"

    def close(self) -> None:
        """Cancel every job, stop the daemons by pid, remove the temp dir."""
        if self._closed:
            return
        self._closed = True
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            with contextlib.suppress(LabError):
                self.cancel_all()
        for role in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(role)
            if proc is not None and proc.poll() is None:
                terminate([psutil.Process(proc.pid)], grace=5)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        # slurmstepd and whatever a job left behind carry the cluster's lab id.
        kill_lab_processes(self.lab_id)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- using it ----------------------------------------------------------------
    def client(self, argv: list[str], *, user: str | None = None, timeout: float = 30.0) -> Result:
        """Run a Slurm client command (as `user`, or root) against this cluster."""
        env = [f"{k}={v}" for k, v in self.env.items()]
        prefix = ["runuser", "-u", user, "--"] if user else []
        # /tmp: sbatch's default output file goes in the working directory.
        return run([*prefix, "env", "-i", *env, *argv], timeout=timeout, cwd="/tmp")

    def jobs(self, user: str | None = None) -> list[dict[str, str]]:
        """Jobs squeue lists (all users, or `user`'s): id, name, state, node."""
        argv = ["squeue", "-h", "-o", "%i|%j|%T|%N|%u"] + (["-u", user] if user else [])
        result = self.client(argv)
        if not result.ok:
            raise LabError(f"squeue failed:\n{result}")
        jobs = []
        for line in result.stdout.splitlines():
            job_id, name, state, node, owner = (line.split("|") + [""] * 5)[:5]
            jobs.append({"id": job_id, "name": name, "state": state, "node": node, "user": owner})
        return jobs

    def cancel_all(self, *, timeout: float = 30.0) -> None:
        """scancel every job (as root) and wait until squeue lists none."""
        ids = [job["id"] for job in self.jobs()]
        if ids:
            self.client(["scancel", *ids])
        wait_until(lambda: not self.jobs(), timeout=timeout, what="every Slurm job to end")

    def logs(self) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("*")):
            with contextlib.suppress(OSError):
                tail = "\n".join(path.read_text(errors="replace").splitlines()[-30:])
                parts.append(f"--- {path} ---\n{tail}")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"<SlurmCluster {self.lab_id} {self.conf}>"
