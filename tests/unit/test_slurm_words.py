"""Slurm's words as the Slurm backend reads them: squeue lines, scontrol fields, sbatch."""

from __future__ import annotations

import pytest

from jssh import remote
from jssh.errors import RemoteError, UsageError
from jssh.hosts import Endpoint, HostRecord
from jssh.session.slurm_jobs import (
    clock,
    login_node_failure,
    parse_jobs,
    sbatch_words,
    scontrol_fields,
)
from jssh.states import JobInfo


def _record(slurm: str = "--time=10 -p gpu") -> HostRecord:
    return HostRecord(
        name="hpc", target="login.hpc", local_port=8899, endpoint=Endpoint(socket="/tmp/s"),
        ssh_options=[], control_path="/tmp/cm/hpc", slurm=slurm,
    )  # fmt: skip


def test_a_running_job_gets_the_first_node_of_its_list() -> None:
    jobs = parse_jobs("JOB 42|RUNNING|n[1-2]|3:59:00|None|0:01\nNODE n1\n")
    assert jobs.first() == JobInfo("42", "RUNNING", node="n1", time_left="3:59:00",
                                   reason=None, elapsed="0:01")  # fmt: skip


def test_a_pending_job_keeps_its_reason() -> None:
    job = parse_jobs("JOB 43|PENDING||1:00:00|Resources|0:00\n").first()
    assert job is not None
    assert (job.state, job.reason, job.node) == ("PENDING", "Resources", None)


def test_a_job_squeue_forgot_is_described_by_scontrols_final_word() -> None:
    jobs = parse_jobs("FINAL JobId=44 JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0\n")
    assert jobs.first() is None
    assert jobs.final == {
        "JobId": "44", "JobState": "FAILED", "Reason": "NonZeroExitCode", "ExitCode": "1:0",
    }  # fmt: skip
    assert scontrol_fields("A=1 A=2 junk B=") == {"A": "1", "B": ""}


def test_the_users_sbatch_arguments_are_words() -> None:
    assert sbatch_words(_record('--time=10 --comment="two words"')) == [
        "--time=10", "--comment=two words",
    ]  # fmt: skip
    with pytest.raises(UsageError) as caught:
        sbatch_words(_record('--comment="unclosed'))
    assert "can't be split into words" in caught.value.message


def test_waiting_time_reads_like_a_clock() -> None:
    assert clock(42) == "0:42"
    assert clock(3 * 3600 + 61) == "3:01:01"


def test_sbatchs_refusal_is_told_in_slurms_own_words() -> None:
    stdout = (
        "SBATCHFAIL 1\nLOGTAIL-BEGIN\n"
        "sbatch: error: invalid partition specified: gpu\nLOGTAIL-END\n"
    )
    error = login_node_failure(_record(), remote.parse_reply(stdout, 10), "")
    assert isinstance(error, RemoteError)
    assert error.message == "sbatch refused the job for hpc: invalid partition specified: gpu"
    assert error.hint
    assert "--slurm" in error.hint


def test_a_login_node_without_slurm_says_which_command_is_missing() -> None:
    error = login_node_failure(
        _record(), remote.parse_reply("NOSLURM sbatch PATH=/usr/bin\n", 8), ""
    )
    assert error.message == "sbatch was not found on hpc's login node (PATH=/usr/bin)"
