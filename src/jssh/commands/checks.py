"""What a doctor check finds: a plain type, and its rendering for a terminal."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One finding. `check` is a stable id; `fix` is None when `ok`."""

    check: str
    host: str | None
    ok: bool
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "host": self.host,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
        }


def ok(check: str, host: str | None, detail: str) -> Check:
    return Check(check, host, True, detail)


def problem(check: str, host: str | None, detail: str, fix: str | None) -> Check:
    return Check(check, host, False, detail, fix or "see the detail above")


def render(checks: list[Check]) -> str:
    """Readable text: one line per check, a `fix:` line under each problem, a summary."""
    lines: list[str] = []
    host: str | None = "\0"
    for check in checks:
        if check.host != host:
            host = check.host
            lines.append(f"{'this machine' if host is None else host}:")
        mark = "ok     " if check.ok else "PROBLEM"
        lines.append(f"  {mark} {check.check}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"          fix: {check.fix}")
    problems = sum(not c.ok for c in checks)
    if problems:
        lines.append(
            f"{problems} problem{'s' if problems != 1 else ''} found; each has its fix above"
        )
    else:
        lines.append(f"all {len(checks)} checks passed")
    return "\n".join(lines)
