"""From `ssh -G` output back to ssh_config(5) syntax, meaning exactly the same thing.

`ssh -G HOST` prints resolved values, but not as a config file would say them:

- quotes are gone: `/home/me/my keys/id` must be quoted again, or ssh reads two words;
- some values come out already expanded (`%` tokens and `~` in HostName,
  UserKnownHostsFile, IdentityAgent): ssh would expand them again, so a literal `%`
  is written `%%`;
- others come out as written (IdentityFile, CertificateFile and the commands): their
  `%n` (the alias typed) and `%k` (the host key alias, else that alias) would mean
  NAME-jupyter in the copy, so they are replaced by what they mean for HOST;
- some keywords only read their first line (SetEnv, UserKnownHostsFile): all their
  values go on one line;
- the commands (ProxyCommand, LocalCommand, KnownHostsCommand) are the rest of the
  line, taken as it is: never quoted.
"""

from __future__ import annotations

import re

from jssh.config.keywords import spelled

# Keywords ssh collects from every line; for all others only the first line counts.
ACCUMULATING = frozenset(
    {"identityfile", "certificatefile", "localforward", "remoteforward", "dynamicforward",
     "sendenv"}
)  # fmt: skip
# The rest of the line is the value, as written: no quoting, no splitting.
COMMANDS = frozenset({"proxycommand", "localcommand", "remotecommand", "knownhostscommand"})
# Several paths on one line, printed joined by spaces.
PATH_LISTS = frozenset({"userknownhostsfile", "globalknownhostsfile"})
# One argument per printed value, however many spaces it holds.
ONE_ARGUMENT = frozenset(
    {"identityfile", "certificatefile", "controlpath", "identityagent", "xauthlocation",
     "pkcs11provider", "securitykeyprovider", "revokedhostkeys", "user", "hostkeyalias",
     "hostname", "setenv", "sendenv", "bindaddress", "bindinterface", "proxyjump",
     "forwardagent"}
)  # fmt: skip
# Printed by -G with `%` tokens (and `~`) already expanded; ssh expands them again.
EXPANDED = frozenset(
    {"hostname", "userknownhostsfile", "identityagent", "controlpath", "forwardagent"}
)
# Printed as written, and expanded by ssh with the alias's own %n and %k.
RAW_TOKENS = frozenset({"identityfile", "certificatefile"}) | COMMANDS
# Tokens whose value is not the same under NAME-jupyter as under HOST.
ALIAS_TOKENS = ("n", "k")

_NEEDS_QUOTES = re.compile(r"[\s\"'\\]|^#|^$")
# A space followed by what starts a path: where -G joined a list of paths.
_PATH_START = re.compile(r" (?=[/~%])")


def quote(word: str) -> str:
    """WORD as one argument of a config line (OpenSSH's argv_split reads it back)."""
    if not _NEEDS_QUOTES.search(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def escape_percent(text: str) -> str:
    return text.replace("%", "%%")


def replace_tokens(text: str, values: dict[str, str]) -> str:
    """TEXT with each `%X` for X in VALUES replaced by its value (which, having no
    tokens of its own, has its `%` doubled); `%%` and other tokens stay."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text):
            token = text[i + 1]
            out.append(escape_percent(values[token]) if token in values else text[i : i + 2])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def split_paths(value: str) -> list[str]:
    """A -G list of paths (`/a/my keys/k /b/k2`) back into its paths: each starts with
    `/`, `~` or a token. (A path with ` /` inside it would be split: none is known.)"""
    return _PATH_START.split(value)


def config_lines(key: str, values: list[str], *, tokens: dict[str, str]) -> list[tuple[str, str]]:
    """The (Keyword, value) lines that say what `ssh -G` printed as KEY VALUES.

    TOKENS: what `%n` and `%k` mean for HOST (see ALIAS_TOKENS).
    """
    keyword = spelled(key)
    if key in COMMANDS:
        return [(keyword, replace_tokens(value, tokens)) for value in values[:1]]
    lines: list[list[str]] = []
    for value in values:
        parts = split_paths(value) if key in PATH_LISTS else [value]
        if key in RAW_TOKENS:
            parts = [replace_tokens(part, tokens) for part in parts]
        if key in EXPANDED:
            parts = [escape_percent(part) for part in parts]
        if key in ONE_ARGUMENT or key in PATH_LISTS:
            parts = [quote(part) for part in parts]
        lines.append(parts)
    if key not in ACCUMULATING:
        lines = [[part for parts in lines for part in parts]]
    return [(keyword, " ".join(parts)) for parts in lines]
