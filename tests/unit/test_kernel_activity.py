"""Before `down` stops a server: are its kernels someone's work? (issue 13, item 5).
The judgement on what the server said (GET /api/kernels, or kernels.sh's reply)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from jssh.remote import parse_reply
from jssh.session.kernels import KernelActivity, from_api, from_reply, notebooks_from_api

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def kernels(*pairs: tuple[str, str]) -> bytes:
    return json.dumps(
        [{"id": str(i), "execution_state": s, "last_activity": t} for i, (s, t) in enumerate(pairs)]
    ).encode()


def test_kernels_active_within_the_hour_are_someones_work() -> None:
    found = from_api(kernels(("idle", iso(90)), ("idle", iso(4))))
    assert found == KernelActivity(2, 0, NOW - timedelta(minutes=4))
    assert found.recent(NOW)
    assert found.describe(NOW) == "2 kernels run there, the last active 4 min ago"


def test_kernels_idle_for_over_an_hour_are_not() -> None:
    found = from_api(kernels(("idle", iso(61)), ("idle", iso(300))))
    assert found is not None
    assert not found.recent(NOW)


def test_a_busy_kernel_is_in_use_however_old_its_last_message() -> None:
    found = from_api(kernels(("busy", iso(600))))
    assert found is not None
    assert found.recent(NOW)
    assert found.describe(NOW) == "1 kernel runs there, 1 busy now, the last active 10 h 0 min ago"


def test_no_kernels_no_question() -> None:
    assert from_api(b"[]") == KernelActivity(0)
    assert not KernelActivity(0).recent(NOW)


def test_an_answer_that_is_not_a_list_of_kernels_is_no_answer() -> None:
    assert from_api(b"<html>403</html>") is None
    assert from_api(b'{"message": "Forbidden"}') is None


def test_the_notebooks_open_with_them_are_named_so_the_user_knows_whose_they_are() -> None:
    sessions = [{"path": f"nb{i}.ipynb", "kernel": {"id": str(i)}} for i in range(5)]
    names = notebooks_from_api(json.dumps(sessions).encode())
    assert names == tuple(f"nb{i}.ipynb" for i in range(5))
    found = KernelActivity(5, 0, NOW - timedelta(seconds=30), names)
    assert found.describe(NOW) == (
        "5 kernels run there (nb0.ipynb, nb1.ipynb, nb2.ipynb, …), the last active 30 s ago"
    )
    assert notebooks_from_api(b"<html>") == ()


def test_the_remote_scripts_reply_says_the_same() -> None:
    reply = parse_reply(
        f"KERNEL idle {iso(2)}\nKERNEL busy -\nNOTEBOOK work/a b.ipynb\nKERNELS 2\n", 0
    )
    assert from_reply(reply) == KernelActivity(
        2, 1, NOW - timedelta(minutes=2), ("work/a b.ipynb",)
    )
    assert from_reply(parse_reply("NOTRUNNING\n", 0)) == KernelActivity(0)
    assert from_reply(parse_reply("UNASKED it answered 403\n", 0)) is None  # not asked: stop
    assert from_reply(parse_reply("ERROR cannot make ~/.jssh/x private\n", 5)) is None
