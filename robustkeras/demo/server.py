"""Starting the page: loopback by default, no analytics, no share link, files only in a temporary folder."""

import atexit
import importlib.util
import ipaddress
import os
import shutil
import socket
import sys
import tempfile

from robustkeras.demo.models import DEFAULT_MODEL, check_name, load

LOOPBACK = "127.0.0.1"
MAX_UPLOAD = "1mb"  # a 32x32 picture is a few KB: larger uploads are refused before they are read


def _temporary_folder():
    """A fresh folder for every file the server writes (Gradio's cache), removed at exit.

    Set before Gradio is imported: its upload folder is read at import time.
    """
    folder = tempfile.mkdtemp(prefix="robustkeras-demo-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["GRADIO_TEMP_DIR"] = folder
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    return folder


def _check_port(port):
    if port is None:
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"Expected `port` to be an integer in [1, 65535] (or left out). Received: port={port!r}")
    return port


def _check_free(host, port):
    """Refuse a port already in use in a second, before the models load (Gradio would find out only after)."""
    if port is None:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: a closed port is free
        try:
            probe.bind((host, port))
        except OSError as err:
            raise ValueError(f"Expected `port` to be free on `host` {host}. Received: port={port} "
                             f"({err.strerror or err})") from None


def _check_host(host):
    if not isinstance(host, str) or not host:
        raise ValueError(f"Expected `host` to be an address such as 127.0.0.1. Received: host={host!r}")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(f"robustkeras demo: serving on {host}, reachable from other machines", file=sys.stderr)
    return host


def launch(model=DEFAULT_MODEL, *, host=LOOPBACK, port=None, inline=None, block=True, quiet=False):
    """Start the demo page on the bundled robust model (in a notebook: inline, below the cell).

    Args:
        model: a robust model of `robustkeras.demo.models.robust_names()`.
        host: address to serve on (the loopback by default: only this machine can open the page).
        port: port (default: Gradio's first free one from 7860).
        inline: show the page inside the notebook (default: when run in one).
        block: keep serving until interrupted (the command line); False returns at once.
        quiet: print nothing at start.

    Returns:
        The running `gr.Blocks` (its `.local_url`; `.close()` stops it).

    Example:
        >>> app = launch(block=False)   # a notebook cell: the page opens below it
    """
    if importlib.util.find_spec("gradio") is None:
        raise ModuleNotFoundError('The demo page needs Gradio: pip install "robustkeras[demo]"')
    model = check_name(model)  # before anything loads: a typo fails in a second
    host, port = _check_host(host), _check_port(port)
    _check_free(host, port)
    folder = _temporary_folder()
    from robustkeras.demo.app import CSS, build_app  # imports Gradio (after the folder is set)

    app = build_app(load(model))
    app.queue(default_concurrency_limit=4)
    try:
        app.launch(server_name=host, server_port=port, inline=inline, prevent_thread_lock=not block, share=False,
                   quiet=quiet, show_error=False, allowed_paths=[], blocked_paths=[], ssr_mode=False,
                   mcp_server=False, enable_monitoring=False, css=CSS, footer_links=[],
                   max_file_size=MAX_UPLOAD)
    except OSError as err:  # a port in use, an address not on this machine
        raise ValueError(f"Expected `port` to be free on `host` {host}. Received: port={port} "
                         f"({' '.join(str(err).split('.')[0].split())})") from None
    app.temporary_folder = folder
    return app
