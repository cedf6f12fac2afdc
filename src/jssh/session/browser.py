"""Open Jupyter in the local browser without putting its token on a command line.

`webbrowser.open(URL)` runs the browser with the URL as an argument, and `ps` shows
every process's arguments to every local user. Jupyter itself avoids this with a 0600
`jpserver-PID-open.html` that redirects to the URL; jssh does the same: the page lives
in the host's private state directory and the browser is given only its file:// path.
"""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from jssh import fsutil
from jssh.errors import UsageError
from jssh.hosts import HostRecord

_PAGE = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0;url={url}">
<title>Opening Jupyter</title>
</head>
<body>
<p>Opening Jupyter. If nothing happens, <a href="{url}">follow this link</a>.</p>
</body>
</html>
"""


def redirect_page(url: str, page: Path) -> Path:
    """Write a private (0600) page that sends the browser on to URL; return its path."""
    fsutil.ensure_private_dir(page.parent)
    fsutil.atomic_write(page, _PAGE.format(url=html.escape(url, quote=True)))
    return page


def open_privately(url: str, page: Path) -> bool:
    """Open URL through a private redirect page; True when a browser was started."""
    import webbrowser

    return webbrowser.open(redirect_page(url, page).as_uri())


def server_url(record: HostRecord, token: str) -> str:
    """The server's own URL, for Jupyter clients that are not a browser (VS Code's
    "Existing Jupyter Server", jupyter_client-style tools): they ask its REST API and
    kernel websockets themselves, and want no /lab page in it."""
    return f"http://127.0.0.1:{record.local_port}/?token={token}"


def path_url(record: HostRecord, token: str | None, path: str) -> str:
    """RECORD's URL opened at PATH (a notebook or folder, relative to the notebook dir):
    JupyterLab's /lab/tree/PATH, the notebook app's /tree/PATH or /notebooks/PATH."""
    relative = _relative(path)
    page = record.url(None)  # .../lab or .../tree, as the host's app serves
    if page.endswith("/lab"):
        page += "/tree"
    elif relative.endswith(".ipynb"):
        page = page.removesuffix("/tree") + "/notebooks"
    url = f"{page}/{quote(relative, safe='/')}" if relative else page
    return f"{url}?token={token}" if token else url


def _relative(path: str) -> str:
    """PATH as the server's file API names it; UsageError for one outside the notebook dir."""
    parts = PurePosixPath(path).parts
    if path.startswith("/") or ".." in parts:
        raise UsageError(
            f"{path!r} is not a path inside the notebook dir",
            hint="give PATH relative to the directory Jupyter serves, e.g. project/run.ipynb",
        )
    return "/".join(part for part in parts if part != ".")
