"""The demo page in a real browser (Debian's Chromium driven by Playwright): every tab, bad input on each.

In CI (`CI` set) a missing Chromium fails the test; on a workstation it skips.
Screenshots of each tab go into the test's temporary folder, or into the folder named by
`ROBUSTKERAS_SCREENSHOTS` (`ROBUSTKERAS_SCREENSHOTS=docs/demo` refreshes docs/demo.md's pictures):
a test never writes into the working tree by itself.
"""

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from _browser import (CHROMIUM, CHROMIUM_ARGS, click_for_message, draw, expect_message, free_port, image_src, read_image,
                      require_browser, screenshot, start_server, upload_png)
from robustkeras import metrics, pretrained
from robustkeras.data import CLASSES, load_sample

# A horizon and a triangle above it: the same strokes are drawn for every class.
STROKES = [[(0.6, 0.15), (0.6, 0.95)], [(0.45, 0.3), (0.35, 0.5), (0.45, 0.7), (0.45, 0.3)]]
BOX = (0.35, 0.65)  # the painted square (fraction of the canvas) on the inpainting tab


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where the screenshots go (see the module docstring)."""
    folder = os.environ.get("ROBUSTKERAS_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("demo")
    cwd, tmp = root / "cwd", root / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    proc, url = start_server(cwd, tmp, free_port())
    yield {"url": url, "cwd": cwd, "tmp": tmp, "proc": proc}
    proc.send_signal(signal.SIGINT)  # as Ctrl-C: the server closes and removes its temporary folder
    try:
        proc.wait(timeout=180)  # a loaded machine can take a minute to stop the server
    except Exception:  # noqa: BLE001
        proc.kill()
        raise
    assert not list(tmp.glob("robustkeras-demo-*")), "the temporary folder is removed at exit"


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        outside = []
        local = (server["url"], "blob:", "data:")
        page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
        page.goto(server["url"])
        page.wait_for_selector("#sketch-run")
        page.outside_requests = outside
        yield page
        browser.close()


@pytest.fixture(scope="module")
def judge():
    return pretrained.load("fastnet_judge")


def _tab(page, name):
    page.get_by_role("tab", name=name).click()


def _pick_class(page, elem, name):
    page.locator(f"#{elem} input").click()
    page.get_by_role("option", name=name, exact=True).click()


def test_sketch_robust_result_is_recognised_more_often_than_the_standard_control(page, judge, shots):
    _tab(page, "Sketch → image")
    click_for_message(page, "#sketch-run", "Received: an empty canvas")
    draw(page, "sketch-canvas", STROKES, ink=(0, 0, 0))
    robust, standard = [], []
    src_r = src_s = None
    for name in CLASSES:
        _pick_class(page, "sketch-class", name)
        page.click("#sketch-run")
        src_r, image_r = read_image(page, "sketch-robust", src_r)
        src_s, image_s = read_image(page, "sketch-standard", src_s)
        robust.append(image_r)
        standard.append(image_s)
    targets = np.arange(len(CLASSES))
    hits_robust = metrics.judge_accuracy(judge, np.stack(robust), targets, low_pass_factor=2)
    hits_standard = metrics.judge_accuracy(judge, np.stack(standard), targets, low_pass_factor=2)
    print(f"low-pass judge on the drawn strokes: robust {hits_robust:.1f}, standard {hits_standard:.1f}")
    assert hits_robust > hits_standard
    assert "low-pass judge" in page.locator("#sketch-robust-verdict").inner_text()
    screenshot(page, shots / "sketch.png")


def test_generation_shows_both_models_and_refuses_a_bad_seed_and_a_second_click(page, shots):
    _tab(page, "Generate")
    page.locator("#generate-seed input").fill("-1")
    page.locator("#generate-seed input").press("Tab")
    click_for_message(page, "#generate-run", "Expected the seed to be a whole number >= 0")
    page.locator("#generate-seed input").fill("3")
    page.locator("#generate-seed input").press("Tab")
    _pick_class(page, "generate-class", "horse")
    page.click("#generate-run")
    page.click("#generate-run")  # while the first one runs
    expect_message(page, "Still working on your previous click")
    _, robust = read_image(page, "generate-robust")
    _, standard = read_image(page, "generate-standard")
    assert robust.shape == standard.shape == (32, 64, 3)  # two images per model per click
    assert page.locator("#generate-standard-verdict").inner_text().count("low-pass judge") == 2
    screenshot(page, shots / "generate.png")


def test_inpainting_changes_the_painted_region_and_nothing_else(page, tmp_path, shots):
    _tab(page, "Inpaint")
    upload_png(page, "inpaint-upload", np.zeros((40, 40, 3), np.uint8), tmp_path)
    expect_message(page, "Expected a 32x32 picture")
    click_for_message(page, "#inpaint-run", "Expected a painted mask")
    lo, hi = BOX
    draw(page, "inpaint-editor", [[(r, lo), (r, hi)] for r in np.linspace(lo, hi, 4)], ink=(255, 0, 255))
    page.click("#inpaint-run")
    _, masked = read_image(page, "inpaint-masked")
    _, filled = read_image(page, "inpaint-result")
    original = load_sample(1)[0][0]
    inside = np.zeros((32, 32), bool)
    inside[int(lo * 32) + 2:int(hi * 32) - 1, int(lo * 32) + 2:int(hi * 32) - 1] = True
    near = np.zeros((32, 32), bool)
    near[int(lo * 32) - 3:int(hi * 32) + 4, int(lo * 32) - 3:int(hi * 32) + 4] = True
    assert np.abs(filled - original)[inside].mean() > 0.03, "the painted region was filled"
    assert np.abs(filled - original)[~near].max() <= 1.5 / 255, "the rest kept every pixel"
    assert np.abs(masked - original)[inside].mean() > 0.03, "the masked picture shows the hole"
    screenshot(page, shots / "inpaint.png")


def test_translation_refuses_another_size_and_translates_a_picked_image(page, tmp_path, shots):
    _tab(page, "Translate")
    upload_png(page, "translate-upload", np.zeros((40, 40, 3), np.uint8), tmp_path)
    expect_message(page, "Expected a 32x32 picture")
    before = image_src(page, "translate-source")
    page.locator("#translate-index input").fill("7")
    page.locator("#translate-index input").press("Enter")
    page.wait_for_function("([sel, old]) => document.querySelector(sel).src !== old",
                           arg=["#translate-source img", before])
    _pick_class(page, "translate-class", "deer")
    page.click("#translate-run")
    _, translated = read_image(page, "translate-result")
    source = load_sample(8)[0][7]
    assert 0.005 < np.abs(translated - source).mean() < 0.2, "a visible edit, not a new picture"
    assert "p(deer)" in page.locator("#translate-result-verdict").inner_text()
    screenshot(page, shots / "translate.png")


def test_feature_painting_undo_restores_the_previous_image(page, shots):
    _tab(page, "Paint features")
    click_for_message(page, "#paint-run", "Expected a painted region")
    _pick_class(page, "paint-class", "horse")
    draw(page, "paint-editor", [[(0.2, 0.2), (0.2, 0.8), (0.4, 0.8), (0.4, 0.2)]], ink=(0, 200, 255))
    page.click("#paint-run")
    painted_src, painted = read_image(page, "paint-result")
    original = load_sample(1)[0][0]
    change = np.abs(painted - original).max(axis=-1)
    assert change[:14].mean() > 3 * change[18:].mean(), "the feature grew where the brush went"
    screenshot(page, shots / "paint.png")
    page.click("#paint-undo")
    _, undone = read_image(page, "paint-result", painted_src)
    np.testing.assert_allclose(undone, original, atol=1 / 255)  # the image before the stroke


def test_the_server_serves_only_its_own_files_and_writes_only_in_its_temporary_folder(page, server):
    mine = Path(__file__).resolve()
    secret = server["cwd"] / "secret.txt"
    secret.write_text("not for the page")
    served = next(server["tmp"].glob("robustkeras-demo-*"))
    climb = f"{served}/../../cwd/secret.txt"  # out of the served folder with `..`
    for path in (mine, secret, Path("/etc/passwd"), climb):
        for route in ("gradio_api/file=", "file="):
            response = page.request.get(server["url"] + route + str(path))
            assert response.status != 200 or "not for the page" not in response.text(), (route, path)
            assert response.status in (403, 404), (route, path, response.status)
    evil = page.request.post(server["url"] + "gradio_api/upload",
                             multipart={"files": {"name": "../../../evil.png", "mimeType": "image/png", "buffer": b"x"}})
    assert evil.status == 200 and all(Path(p).resolve().is_relative_to(server["tmp"].resolve()) for p in evil.json()), evil.text()
    huge = page.request.post(server["url"] + "gradio_api/upload",
                             multipart={"files": {"name": "big.png", "mimeType": "image/png", "buffer": bytes(2 << 20)}})
    assert huge.status == 413, "an upload over the size limit is refused"
    src = image_src(page, "paint-result")
    assert str(server["tmp"]) in src.replace("%2F", "/"), src  # results are written in the temporary folder
    assert sorted(p.name for p in server["cwd"].iterdir()) == ["secret.txt"], "nothing written in the cwd"
    assert page.outside_requests == [], "the page fetched nothing from outside the server"
