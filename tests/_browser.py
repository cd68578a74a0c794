"""Driving the demo page in Debian's Chromium with Playwright: start, draw, click, read images back."""

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

CHROMIUM = os.environ.get("ROBUSTKERAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ZOOM = 8  # robustkeras.demo.inputs.ZOOM: page pixels per model pixel


def require_browser():
    """Skip without Chromium, Playwright or Gradio on a workstation; fail in CI (the `CI` variable set)."""
    missing = [what for what, ok in (("chromium", shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)),
                                     ("playwright", _importable("playwright")), ("gradio", _importable("gradio")))
               if not ok]
    if missing:
        message = f"the browser test needs {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cwd, tmp, port, timeout=240):
    """`robustkeras demo` on the loopback, files confined to `tmp` (its TMPDIR); returns (process, url)."""
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = open(os.path.join(str(tmp), "..", "server.log"), "w")
    # Ctrl-C reaches the server even when the test run itself was started with SIGINT ignored (a shell's
    # background job, nohup): a process that inherits an ignored SIGINT keeps ignoring it.
    proc = subprocess.Popen([sys.executable, "-m", "robustkeras.cli", "demo", "--port", str(port)], cwd=cwd, env=env,
                            stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the demo exited with {proc.returncode}: {open(log.name).read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    raise AssertionError(f"the demo did not answer within {timeout} s: {open(log.name).read()[-2000:]}")


def draw(page, elem, strokes, ink):
    """Draw `strokes` (lists of (row, col) in [0, 1] of the canvas) with the mouse on editor `#elem`.

    Returns once the page shows them (pixels of the brush colour `ink`, an RGB triple, stop changing):
    the editor reads its layers when the button is clicked, and a stroke still being rendered is lost.
    The editor's tool bar floats over the canvas's left edge: keep columns above 0.15.
    """
    root = page.locator(f"#{elem}")
    # A click just answered (even refused) leaves a pending overlay over the editor for a moment under load:
    # strokes drawn then land on the overlay and are lost. Draw once no status tracker in it is pending.
    page.wait_for_function("""sel => Array.from(document.querySelectorAll(sel + ' [data-testid="status-tracker"]'))
                                 .every(t => t.classList.contains('hide'))""", arg=f"#{elem}", timeout=90_000)
    _wait_still(root)  # the editor loads its picture after the tab opens: a stroke drawn before that is dropped
    before = _ink_pixels(root, ink)
    root.get_by_role("button", name="Brush", exact=True).click()
    box = root.locator("canvas").first.bounding_box()
    zoom = float(root.get_by_text("%").first.inner_text().strip().strip("%")) / 100
    side = 256 * zoom
    x0, y0 = box["x"] + box["width"] / 2 - side / 2, box["y"] + box["height"] / 2 - side / 2
    for stroke in strokes:
        (r, c), rest = stroke[0], stroke[1:]
        page.mouse.move(x0 + c * side, y0 + r * side)
        page.mouse.down()
        for r, c in rest:
            page.mouse.move(x0 + c * side, y0 + r * side, steps=2)
        page.mouse.up()
    counts = [before]
    deadline = time.time() + 60
    while not (counts[-1] > before and len(counts) > 2 and counts[-1] == counts[-2]) and time.time() < deadline:
        time.sleep(0.3)
        counts.append(_ink_pixels(root, ink))
    assert counts[-1] > before, f"the strokes never appeared on #{elem}"
    time.sleep(0.5)  # as a person would: the editor commits the stroke to its layer after showing it


def _wait_still(root, timeout=15):
    """Wait (at most `timeout` s, then go on) until two canvas screenshots 0.3 s apart are the same.

    The editor loads its picture after the tab opens, and a stroke drawn before that is dropped. Best effort
    only: an overlay that keeps moving (a status timer) must not fail the test; the strokes are checked after.
    """
    canvas = root.locator("canvas").first
    shots = [canvas.screenshot()]
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.3)
        shots.append(canvas.screenshot())
        if shots[-1] == shots[-2]:
            return


def _ink_pixels(root, ink):
    shot = np.asarray(Image.open(io.BytesIO(root.screenshot())).convert("RGB"), np.int16)
    return int(np.sum(np.all(np.abs(shot - np.array(ink)) < 24, axis=-1)))


def image_src(page, elem):
    return page.evaluate("sel => { const i = document.querySelector(sel); return i ? i.src : null; }", f"#{elem} img")


def read_image(page, elem, previous=None, timeout=90_000):
    """Wait until `#elem` shows an image other than `previous` (a src); return (src, float32 model-size image).

    A message appearing on the page instead fails at once, with its text.
    """
    found = page.wait_for_function(
        """([sel, old]) => { const i = document.querySelector(sel);
             if (i && i.src && i.src !== old && i.complete) return {src: i.src};
             const t = document.querySelector('[data-testid="toast-text"]');
             return t ? {message: t.innerText} : null; }""",
        arg=[f"#{elem} img", previous], timeout=timeout).json_value()
    if "message" in found:
        raise AssertionError(f"the page said: {found['message']}")
    src = found["src"]
    big = np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"), np.float32) / 255.0
    return src, big[::ZOOM, ::ZOOM]


def click_for_message(page, selector, text, tries=3, timeout=20_000):
    """Click `selector` until a toast holding `text` appears (a refused click changes nothing, so it may repeat).

    Under load a click can land before the page has taken a value just typed in; a second click sees it.
    Fails when no click of `tries` brings the message.
    """
    for attempt in range(tries):
        page.click(selector)
        try:
            page.get_by_text(text).first.wait_for(timeout=timeout)
            break
        except Exception:  # noqa: BLE001 - retried; the last try fails below
            if attempt == tries - 1:
                shown = page.locator('[data-testid="toast-text"]').all_inner_texts()
                raise AssertionError(f"no click on {selector} brought {text!r}; toasts: {shown}") from None
    expect_message(page, text, timeout)


def expect_message(page, text, timeout=30_000):
    """Wait for a toast holding `text`, then close every toast."""
    page.get_by_text(text).first.wait_for(timeout=timeout)
    for button in page.locator('[data-testid="toast-close"]').all():
        try:
            button.click(timeout=1000)
        except Exception:  # noqa: BLE001 - the toast closed by itself
            pass
    page.wait_for_selector('[data-testid="toast-text"]', state="detached", timeout=timeout)


def screenshot(page, path):
    """A small PNG of the page (palette of 64 colours) for the docs, once no progress bar is left."""
    page.get_by_text(re.compile(r" - \d+(\.\d+)?%")).first.wait_for(state="hidden", timeout=90_000)
    raw = page.screenshot(full_page=True)
    Image.open(io.BytesIO(raw)).convert("RGB").quantize(64).save(path, optimize=True)


def upload_png(page, elem, array, folder):
    path = os.path.join(str(folder), f"{elem}.png")
    Image.fromarray(array).save(path)
    page.locator(f"#{elem} input[type=file]").set_input_files(path)
