"""``qaforge review WORKDIR``: curate the drafted pairs in a local web page."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Any

import click

from qaforge.cli.common import (
    config_option,
    fail,
    friendly_errors,
    settings_from,
)
from qaforge.cli.output import say, warn

EPILOG = """\b
Examples:
  qaforge review work/                 # http://127.0.0.1:8765/?token=...
  qaforge review work/ --open          # ...and open it in your browser
  qaforge review work/ --port 0        # any free port

\b
Every change is saved to work/output_json/*_suggestions.json at once. Editing those
files by hand keeps working; the page notices and never overwrites your edit.
Press ? on the page for the keyboard shortcuts.
"""


@click.command("review", epilog=EPILOG)
@click.argument("workdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to serve on (default 8765, or the next free one; 0 = any free port).")
@click.option("--host", default=None,
              help="Address to bind (default 127.0.0.1). Anything else exposes your files "
                   "to the network.")
@click.option("--open/--no-open", "open_browser", default=None,
              help="Open the page in your web browser.")
@config_option
@friendly_errors
def command(workdir: Path, **params: Any) -> None:
    """Review the Q&A pairs of WORKDIR in your browser (stage 2).

    Serves a local web page: documents with progress, each chunk's text beside its
    pairs, accept / reject / edit / add / delete with the keyboard, filters and search.
    """
    from qaforge.review.server import PortInUseError, ReviewServer
    from qaforge.suggestions import suggestions_dir

    settings = settings_from(params, {"review": {"host": params.get("host"),
                                                 "port": params.get("port"),
                                                 "open_browser": params.get("open_browser")}},
                             search_dirs=(workdir,))
    if not suggestions_dir(workdir).is_dir():  # an empty folder is fine: pairs may be added
        fail(f"{suggestions_dir(workdir)}: no such folder; run `qaforge generate PDFS -o "
             f"{workdir}` first")
    review = settings.review
    try:
        server = ReviewServer(workdir, host=review.host, port=review.port)
    except PortInUseError as exc:
        fail(str(exc.strerror))
        return
    except OSError as exc:
        fail(f"cannot listen on {review.host}:{review.port}: {exc.strerror or exc}")
        return
    if server.exposed:
        warn(f"serving on {review.host}: anyone who can reach this address and gets the link "
             "can read and change your files.")
    if review.port and server.port != review.port:
        say(f"port {review.port} is in use; using {server.port}")
    try:  # Ctrl+C is the normal way to stop, at any moment
        server.start()
        say(workdir / "output_json", "Reviewing")
        say(f"{server.url}  (Ctrl+C to stop)", "Open", "bold cyan", always=True)
        if review.open_browser:
            webbrowser.open(server.url)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    say("stopped; every change is already saved.")
