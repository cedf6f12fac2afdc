"""Fixtures of the jssh test lab. The machinery lives in tests/lab/; this wires it to pytest.

Fixtures (see tests/lab for the classes):
  lab_account (session)   name of the account sshd logs in as (one per test process)
  lab_venv (session)      Path of the cached venv with jupyterlab
  lab_keys (session)      LabKeys: host key + passphrase-less user key
  make_workstation        factory(**Sshd kwargs) -> started Sshd
  workstation             a started Sshd on 127.0.0.1:<free port>, the test's own; with
                          @pytest.mark.shared_workstation, the worker's shared_workstation
  shared_workstation (session)  one Sshd per worker for tests that only log in and read
  make_laptop             factory(workstation, hostname=, port=, alias=) -> Laptop
  laptop                  Laptop whose `workstation` host is the workstation fixture
  make_relay              factory(host, port) -> TcpRelay
  relay_workstation       RelayLab(workstation, relay, laptop through the relay)
  make_netns_workstation  factory(**kwargs) -> started NetnsWorkstation (root)
  netns_workstation       a started NetnsWorkstation (root; skips otherwise)
  netns_laptop            Laptop for netns_workstation
  slurm_cluster (session) a started single-node SlurmCluster (root + Slurm; skips otherwise)
  slurm_workstation       a workstation that is the cluster's login node (SLURM_CONF set)
  slurm_laptop            Laptop whose `cluster` host is slurm_workstation

Running in parallel (pytest -n N, as ./scripts/test does): as root, each xdist worker
logs in to a lab account of its own and runs in a network namespace of its own
(tests/lab/account.py, worker.py), so tests keep their plain names and the default port
8899 without meeting each other, or another pytest run on the machine.
What stays shared is pinned: the Slurm cluster's tests run on one worker
(xdist_group "slurm", with --dist loadgroup). Without root, every test that logs in
runs on one worker.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

# Make `import lab` work whatever pytest's import mode (importlib mode does not
# put this dir on sys.path by itself).
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from lab import (  # noqa: E402
    IS_ROOT,
    LabKeys,
    LabTimeout,
    Laptop,
    NetnsUnavailable,
    NetnsWorkstation,
    RelayLab,
    Sshd,
    TcpRelay,
    describe,
    ensure_lab_account,
    ensure_lab_venv,
    enter_private_network,
    issued_lab_ids,
    kill_lab_processes,
    lab_processes,
    wait_until,
    worker_id,
)
from lab.slurm import SlurmCluster, slurm_missing  # noqa: E402

# Workstations used by the running test, each with the size its sshd log had when the
# test began: the failure report shows the log from there on.
_WORKSTATIONS = pytest.StashKey[list[tuple[Sshd, int]]]()
# None when this worker has an account and a loopback of its own; else why not.
_NOT_ISOLATED = pytest.StashKey[str | None]()
# Seconds each test took (setup + call + teardown), kept in pytest's cache between runs.
_DURATIONS = "jssh/durations"
_DURATIONS_SEED = Path(__file__).with_name("durations.json")
_TOOK: dict[str, float] = {}


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "root: needs root (network namespaces, a second account); skipped otherwise",
        "faults: injects network or process faults",
        "slow: takes more than a few seconds",
        "browser: drives a real browser",
        "shared_workstation: only logs in and reads (starts nothing that outlives a login, "
        "never stops sshd): `workstation` is the worker's shared sshd",
    ):
        config.addinivalue_line("markers", line)
    # Before any test runs, each test process (each xdist worker) moves into a network
    # namespace of its own, away from other runs on this machine too.
    config.stash[_NOT_ISOLATED] = enter_private_network()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not IS_ROOT:
        skip = pytest.mark.skip(reason="needs root (network namespaces / a separate lab account)")
        for item in items:
            if item.get_closest_marker("root"):
                item.add_marker(skip)
    if worker_id() is None:
        return
    isolated = config.stash[_NOT_ISOLATED] is None
    for item in items:
        names = getattr(item, "fixturenames", ())
        if not isolated and "lab_account" in names:
            # One account and one loopback for all: whatever logs in runs on one worker.
            item.add_marker(pytest.mark.xdist_group("one-lab"))
        elif "slurm_cluster" in names:
            # One cluster per session: a second worker would start a second one.
            item.add_marker(pytest.mark.xdist_group("slurm"))
    # The longest first, so that none of them starts last and keeps a worker busy alone
    # at the end: by what each took last time, else by a guess. (Every worker sorts
    # alike, from the controller's copy: xdist requires the same order everywhere.)
    took: dict[str, float] = getattr(config, "workerinput", {}).get(_DURATIONS, {})
    items.sort(key=lambda item: -took.get(item.nodeid, _guessed_seconds(item)))


@pytest.hookimpl(optionalhook=True)  # an xdist hook: in the controller, per worker
def pytest_configure_node(node: Any) -> None:
    # This checkout's own runs first; a fresh clone has none, and orders by the committed
    # seed (scripts/refresh-durations writes it): with guesses alone, a long test that
    # carries no `slow` mark can start last and run alone at the end.
    cache = getattr(node.config, "cache", None)
    seen = cache.get(_DURATIONS, {}) if cache is not None else {}
    node.workerinput[_DURATIONS] = {**_seed_durations(), **seen}


@functools.cache  # read once for all the workers
def _seed_durations() -> dict[str, float]:
    try:
        seed: dict[str, float] = json.loads(_DURATIONS_SEED.read_text())
    except (OSError, ValueError):
        return {}
    return seed


def _guessed_seconds(item: pytest.Item) -> float:
    names = set(getattr(item, "fixturenames", ()))
    if item.get_closest_marker("slow"):
        return 60
    if names & {"watch", "relay_workstation", "make_netns_workstation"}:
        return 20  # waits on a watchdog or a cut link
    if "make_workstation" in names:
        return 3
    return 0.05  # no lab at all: fills the gaps at the end


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # In the xdist controller (or a run without xdist), which sees every worker's reports.
    if worker_id() is None:
        nodeid = report.nodeid.removesuffix("@slurm").removesuffix("@one-lab")
        _TOOK[nodeid] = _TOOK.get(nodeid, 0.0) + report.duration


def pytest_report_header(config: pytest.Config) -> str | None:
    reason = config.stash.get(_NOT_ISOLATED, None)
    if reason:
        return f"jssh lab: no private loopback ({reason}): under xdist, lab tests run on one worker"
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # On failure, show what sshd said: auth refusals, forward failures,
    # "Connection closed" are often the whole story.
    if report.failed:
        for ws, since in item.stash.get(_WORKSTATIONS, []):
            tail = "\n".join(ws.log(since).splitlines()[-60:])
            report.sections.append((f"sshd log {ws.lab_id} ({ws.log_path})", tail))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing the lab started may outlive the session: kill stragglers and fail loudly."""
    cache = getattr(session.config, "cache", None)  # none with -p no:cacheprovider
    if _TOOK and cache is not None:
        known = cache.get(_DURATIONS, {})
        known.update({nodeid: round(seconds, 2) for nodeid, seconds in _TOOK.items()})
        cache.set(_DURATIONS, known)
    leftovers = {lab_id: procs for lab_id in issued_lab_ids() if (procs := lab_processes(lab_id))}
    if not leftovers:
        return
    lines = ["", "jssh lab: processes outlived their test (killed now):"]
    for lab_id, procs in leftovers.items():
        lines.append(f" {lab_id}:\n{describe(procs)}")
        kill_lab_processes(lab_id)
    session.config.get_terminal_writer().line("\n".join(lines), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# -- session-wide ingredients ----------------------------------------------


@pytest.fixture(scope="session")
def lab_account() -> str:
    """The account logins go to: as root one of `jsshlab`, `jsshlab1`, ... that no other
    test process uses, else the current user."""
    return ensure_lab_account()


@pytest.fixture(scope="session")
def lab_venv() -> Path:
    """The cached venv with jupyterlab (built on first use, ~20 s)."""
    return ensure_lab_venv()


@pytest.fixture(scope="session")
def lab_keys() -> Iterator[LabKeys]:
    keys = LabKeys.create()
    yield keys
    keys.remove()


# -- workstations ----------------------------------------------------------


@pytest.fixture
def make_workstation(
    request: pytest.FixtureRequest, lab_account: str, lab_venv: Path, lab_keys: LabKeys
) -> Iterator[Callable[..., Sshd]]:
    """Factory: make_workstation(extra_env=..., extra_config=[...]) -> a started Sshd."""
    made: list[Sshd] = []

    def make(**kwargs: Any) -> Sshd:
        ws = Sshd(account=lab_account, venv=lab_venv, keys=lab_keys, **kwargs)
        made.append(ws)
        request.node.stash.setdefault(_WORKSTATIONS, []).append((ws, 0))
        return ws.start()

    yield make
    for ws in reversed(made):
        ws.close()


@pytest.fixture(scope="session")
def shared_workstation(lab_account: str, lab_venv: Path, lab_keys: LabKeys) -> Iterator[Sshd]:
    """One sshd for the whole worker, for the tests marked shared_workstation."""
    ws = Sshd(account=lab_account, venv=lab_venv, keys=lab_keys)
    try:
        yield ws.start()
    finally:
        ws.close()


@pytest.fixture
def workstation(
    request: pytest.FixtureRequest, make_workstation: Callable[..., Sshd]
) -> Iterator[Sshd]:
    """The test's own sshd, or with @pytest.mark.shared_workstation the worker's shared one,
    which the test must leave as it found it: running, with nothing started through it
    still alive (checked at teardown, after the test's laptops closed)."""
    if request.node.get_closest_marker("shared_workstation") is None:
        yield make_workstation()
        return
    ws: Sshd = request.getfixturevalue("shared_workstation")
    request.node.stash.setdefault(_WORKSTATIONS, []).append((ws, ws.log_size()))
    yield ws
    problems = []
    if not ws.running:
        problems.append("its sshd was stopped")
        ws.start()
    try:
        # A login's shell may take a moment to exit after its ssh has gone.
        wait_until(lambda: not ws.remote_processes(), timeout=5, what="remote processes to end")
    except LabTimeout:
        problems.append(f"these still run there:\n{describe(ws.remote_processes())}")
        ws.kill_remote_processes()
    if problems:
        pytest.fail(
            "a test marked shared_workstation changed the shared workstation: "
            + "; ".join(problems),
            pytrace=False,
        )


@pytest.fixture
def make_netns_workstation(
    request: pytest.FixtureRequest, lab_account: str, lab_venv: Path, lab_keys: LabKeys
) -> Iterator[Callable[..., NetnsWorkstation]]:
    """Factory for workstations in their own network namespace; skips the test
    when this machine cannot make one."""
    if not IS_ROOT:
        pytest.skip("network namespaces need root")
    made: list[NetnsWorkstation] = []

    def make(**kwargs: Any) -> NetnsWorkstation:
        try:
            ws = NetnsWorkstation(account=lab_account, venv=lab_venv, keys=lab_keys, **kwargs)
        except NetnsUnavailable as exc:
            pytest.skip(f"no network namespace here: {exc}")
        made.append(ws)
        request.node.stash.setdefault(_WORKSTATIONS, []).append((ws, 0))
        ws.start()
        return ws

    yield make
    for ws in reversed(made):
        ws.close()


@pytest.fixture
def netns_workstation(
    make_netns_workstation: Callable[..., NetnsWorkstation],
) -> NetnsWorkstation:
    return make_netns_workstation()


# -- laptops -----------------------------------------------------------------


@pytest.fixture
def make_laptop(
    lab_keys: LabKeys, make_workstation: Callable[..., Sshd]
) -> Iterator[Callable[..., Laptop]]:
    """Factory: make_laptop(workstation, hostname=None, port=None, alias="workstation")."""
    made: list[Laptop] = []

    def make(workstation: Sshd, **kwargs: Any) -> Laptop:
        lt = Laptop(workstation=workstation, keys=lab_keys, **kwargs)
        made.append(lt)
        return lt

    # Depending on make_workstation orders teardown: laptops (and their ssh
    # masters) go before the workstations they are connected to.
    yield make
    for lt in reversed(made):
        lt.close()


@pytest.fixture
def laptop(workstation: Sshd, make_laptop: Callable[..., Laptop]) -> Laptop:
    return make_laptop(workstation)


@pytest.fixture
def netns_laptop(netns_workstation: NetnsWorkstation, make_laptop: Callable[..., Laptop]) -> Laptop:
    return make_laptop(netns_workstation)


# -- network faults ----------------------------------------------------------


@pytest.fixture
def make_relay() -> Iterator[Callable[[str, int], TcpRelay]]:
    """Factory: make_relay(target_host, target_port) -> TcpRelay on 127.0.0.1:<free port>."""
    made: list[TcpRelay] = []

    def make(host: str, port: int) -> TcpRelay:
        relay = TcpRelay(host, port)
        made.append(relay)
        return relay

    yield make
    for relay in made:
        relay.close()


@pytest.fixture
def relay_workstation(
    workstation: Sshd,
    make_relay: Callable[[str, int], TcpRelay],
    make_laptop: Callable[..., Laptop],
) -> RelayLab:
    """A workstation behind a TcpRelay; the laptop's `workstation` host is the relay."""
    relay = make_relay(workstation.host, workstation.port)
    laptop = make_laptop(workstation, hostname=relay.host, port=relay.port)
    return RelayLab(workstation=workstation, relay=relay, laptop=laptop)


# -- Slurm ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """munged + slurmctld + slurmd for the whole session (about 1 s to start)."""
    reason = slurm_missing()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster()
    try:
        cluster.start()
    except BaseException:
        cluster.close()
        raise
    yield cluster
    cluster.close()


@pytest.fixture
def slurm_workstation(
    slurm_cluster: SlurmCluster, make_workstation: Callable[..., Sshd]
) -> Iterator[Sshd]:
    """The cluster's login node (the lab's sshd; the compute node `localhost` too)."""
    ws = make_workstation(extra_env={"SLURM_CONF": str(slurm_cluster.conf)})
    yield ws
    slurm_cluster.cancel_all()  # the next test starts with an empty queue


@pytest.fixture
def slurm_laptop(slurm_workstation: Sshd, make_laptop: Callable[..., Laptop]) -> Laptop:
    laptop = make_laptop(slurm_workstation, alias="cluster")
    # The compute node's host key, as a cluster publishes its nodes' keys: the laptop
    # reaches the node `localhost` through the login node, on the same lab sshd.
    with open(laptop.known_hosts, "a") as known:
        known.write(slurm_workstation.known_hosts_line("localhost", slurm_workstation.port) + "\n")
    return laptop
