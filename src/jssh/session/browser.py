"""Open Jupyter in the local browser without putting its token on a command line.

`webbrowser.open(URL)` runs the browser with the URL as an argument, and `ps` shows
every process's arguments to every local user. Jupyter itself avoids this with a 0600
`jpserver-PID-open.html` that redirects to the URL; jssh does the same: the page lives
in the host's private state directory and the browser is given only its file:// path.
"""

from __future__ import annotations

import html
from pathlib import Path

from jssh import fsutil

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
