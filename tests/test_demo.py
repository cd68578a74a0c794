"""The demo's pieces without a browser: canvas and upload checks, the busy guard, the handlers' messages."""

import numpy as np
import pytest

from robustkeras import cli
from robustkeras.demo import inputs, sessions, tasks
from robustkeras.demo.inputs import InputError


def _canvas(side=256):
    return np.zeros((side, side, 4), np.uint8)  # transparent: white paper once composited


def test_canvas_sketch_keeps_a_thin_stroke_where_it_was_drawn():
    drawn = _canvas()
    drawn[100:104, 40:200] = (0, 0, 0, 255)  # a 4-pixel line: half a model pixel
    sketch = inputs.canvas_sketch({"composite": drawn}, 32)
    assert sketch.shape == (1, 32, 32, 3) and sketch.dtype == np.float32
    assert np.all(sketch[0, 12, 5:25] == 0.0), "dark ink wins its block"
    sketch[0, 12, 5:25] = 1.0
    assert np.all(sketch == 1.0), "white paper everywhere else"


@pytest.mark.parametrize("value", [None, {"composite": None}, {"composite": _canvas()}])
def test_an_empty_canvas_is_refused_with_a_message(value):
    with pytest.raises(InputError, match="Received: an empty canvas"):
        inputs.canvas_sketch(value, 32)


def test_painted_region_marks_every_block_the_brush_touched():
    layer = _canvas()
    layer[64:70, 64:130] = (255, 0, 255, 255)
    region = inputs.painted_region({"layers": [layer]}, 32)
    assert region.shape == (32, 32, 1)
    assert region[8:9, 8:17].all() and region.sum() == 9
    with pytest.raises(InputError, match="Expected a painted region.*nothing painted"):
        inputs.painted_region({"layers": [_canvas()]}, 32, what="region")


def test_an_upload_of_another_size_is_refused_not_resized():
    with pytest.raises(InputError, match="Expected a 32x32 picture.*Received: 48x40"):
        inputs.uploaded_image(np.zeros((40, 48, 3), np.uint8), 32)
    image = inputs.uploaded_image(np.full((32, 32, 3), 255, np.uint8), 32)
    assert image.shape == (32, 32, 3) and image.max() == 1.0


def test_shown_images_read_back_exactly_at_every_zoom_th_pixel():
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    strip = inputs.shown(images)
    assert strip.shape == (256, 512, 3) and strip.dtype == np.uint8
    np.testing.assert_allclose(strip[::8, ::8] / 255.0, np.concatenate(list(images), 1), atol=0.5 / 255)


@pytest.mark.parametrize("call,needle", [
    (lambda: tasks.seed_value(-1), "Expected the seed to be a whole number >= 0. Received: -1"),
    (lambda: tasks.seed_value(1.5), "Received: 1.5"),
    (lambda: tasks.class_index("unicorn"), "Expected a class among airplane"),
    (lambda: tasks.check_index(200, 200), r"Expected a test image number in \[0, 199\]"),
])
def test_page_values_are_checked_with_a_message(call, needle):
    with pytest.raises(InputError, match=needle):
        call()


def test_a_session_runs_one_request_at_a_time():
    guard = sessions.OneAtATime()
    with guard.hold("a"):
        with guard.hold("b"):  # another session is not held up
            pass
        with pytest.raises(sessions.BusyError, match="Still working on your previous click"):
            with guard.hold("a"):
                pass
    with guard.hold("a"):  # released afterwards, even after the refusal
        pass


def test_handlers_turn_bad_input_into_a_message_and_anything_else_into_one_line(monkeypatch):
    gr = pytest.importorskip("gradio")
    from robustkeras.demo import app

    warnings = []
    monkeypatch.setattr(app.gr, "Warning", lambda message, **kw: warnings.append(message))

    def bad(_):
        raise InputError("Expected a painted mask. Received: nothing painted")

    def broken(_):
        raise RuntimeError("secret internals")

    handler = app._guarded(bad, sessions.OneAtATime(), 2, "test")
    out = handler(None, lambda *a, **k: None, "x")
    assert warnings == ["Expected a painted mask. Received: nothing painted"]
    assert len(out) == 2 and all(isinstance(o, type(gr.skip())) for o in out)
    with pytest.raises(gr.Error) as err:
        app._guarded(broken, sessions.OneAtATime(), 1, "test")(None, lambda *a, **k: None, "x")
    assert "secret internals" not in str(err.value) and "server" in str(err.value)


def test_cli_refuses_an_unknown_model_before_loading_anything(capsys):
    assert cli.main(["demo", "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert "`--model`" in err and "fastnet_l2_robust" in err and "Traceback" not in err
    assert cli.main(["demo", "--port", "70000"]) == 2
    assert "`--port` to be an integer in [1, 65535]" in capsys.readouterr().err


def test_cli_refuses_a_port_in_use_before_loading_anything(capsys):
    import socket
    import time

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        start = time.perf_counter()
        assert cli.main(["demo", "--port", str(port)]) == 2
        assert time.perf_counter() - start < 5, "refused before the models load"
    err = capsys.readouterr().err
    assert f"Expected `--port` to be free on `--host` 127.0.0.1. Received: --port={port}" in err
    assert "Traceback" not in err
