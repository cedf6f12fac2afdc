"""Durations as a person types and reads them: `90s`, `30m`, `2h`, `1h30m`, or seconds.

A leaf: `jssh add --idle-timeout` parses with it, `status` and the watchdog print with it.
"""

from __future__ import annotations

import re

from jssh.errors import UsageError

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"h": 3600, "m": 60, "s": 1}
# Hours, minutes, seconds in that order, each at most once: 1h30m, 45m, 90s, 2h5s.
_DURATION_RE = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
# Beyond this a timeout is surely a typo (a year of idleness is no timeout at all).
MAX_SECONDS = 366 * 86400


def parse_duration(text: str, option: str) -> int:
    """Seconds in TEXT (`30m`, `1h30m`, `90s`, `90`); 0 for `0` or `off`. UsageError,
    naming OPTION and the forms it takes, for anything else."""
    word = text.strip().lower()
    if word in ("0", "off", "none"):
        return 0
    seconds: int | None = None
    if word.isdigit():
        seconds = int(word)
    elif word and (match := _DURATION_RE.fullmatch(word)) and any(match.groups()):
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds is None or not 0 < seconds <= MAX_SECONDS:
        raise UsageError(
            f"{option} {text!r} is not a duration: give it as 90s, 30m, 2h or 1h30m"
            " (plain digits are seconds; 0 or off turns it off)"
        )
    return seconds


def format_duration(seconds: int) -> str:
    """`30m`, `1h30m`, `2m05s`, `45s`: the shortest exact form, as `add` accepts it."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h" if hours else ""
    if minutes or (secs and hours):
        text += f"{minutes:02d}m" if hours else f"{minutes}m"
    if secs:
        text += f"{secs:02d}s"
    return text
