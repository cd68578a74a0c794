"""The page: one tab per synthesis task, each result beside the low-pass judge's verdict.

Layout only: the computations are `tasks`, the browser values' checks `inputs`.
Every handler runs in Gradio's worker threads (off the event loop), one
request at a time per session (`sessions.OneAtATime`); bad input becomes a
message on the page (a toast, the outputs left as they were), never a stack trace.
"""

import logging

import gradio as gr

from robustkeras import synthesis
from robustkeras.data import CLASSES, load_sample
from robustkeras.demo import tasks
from robustkeras.demo.inputs import InputError, canvas_sketch, painted_region, uploaded_image, zoomed
from robustkeras.demo.sessions import BusyError, OneAtATime

CSS = ".pixelated img, .pixelated canvas { image-rendering: pixelated; }"
SAMPLE_SIZE = 200  # the bundled test images
_LOG = logging.getLogger("robustkeras.demo")


def _guarded(fn, guard, outputs, desc):
    """`fn(*inputs)` for the page: busy sessions are told so, bad input is shown, nothing else leaks."""

    def handler(request: gr.Request, progress=gr.Progress(), *inputs):
        try:
            with guard.hold(getattr(request, "session_hash", None)):
                progress(0, desc=desc)
                return fn(*inputs)
        except (BusyError, InputError, ValueError) as err:
            # A message, and every output (canvases included) left as it was: an error state would cover them.
            gr.Warning(" ".join(str(err).split()), title="Busy" if isinstance(err, BusyError) else "Check the input")
            return tuple(gr.skip() for _ in range(outputs)) if outputs > 1 else gr.skip()
        except Exception:  # the page gets one line; the server log keeps the traceback
            _LOG.exception("demo request failed")
            raise gr.Error("Something went wrong on the server (the details are in its log).",
                           print_exception=False) from None

    return handler


def _class_box(elem_id, value="cat", label="class"):
    return gr.Dropdown(choices=list(CLASSES), value=value, label=label, elem_id=elem_id)


def _result(elem_id, label):
    image = gr.Image(label=label, format="png", height=192, interactive=False, elem_id=elem_id,
                     elem_classes="pixelated", buttons=["download"])
    return image, gr.Markdown(elem_id=f"{elem_id}-verdict")


def _picker(prefix):
    with gr.Row():
        index = gr.Number(value=0, precision=0, minimum=0, maximum=SAMPLE_SIZE - 1, label="test image number",
                          elem_id=f"{prefix}-index")
        upload = gr.Image(label="or upload a 32x32 picture", sources=["upload"], type="numpy", image_mode="RGB",
                          height=120, elem_id=f"{prefix}-upload")
    return index, upload


def _editor(elem_id, label, color):
    return gr.ImageEditor(label=label, type="numpy", image_mode="RGBA", sources=(), transforms=(), layers=False,
                          canvas_size=(256, 256), fixed_canvas=True, format="png", elem_id=elem_id, min_width=360,
                          elem_classes="pixelated", interactive=True,
                          brush=gr.Brush(colors=[color], default_color=color, default_size=24, color_mode="fixed"))


def _background(image):
    return {"background": zoomed(image), "layers": [], "composite": None}


class _Pictures:
    """Test-image picking shared by the tabs that start from a picture."""

    def __init__(self, models):
        self.models = models
        self.x, self.y = load_sample(SAMPLE_SIZE)

    def sample(self, index):
        index = tasks.check_index(index, len(self.x))
        return self.x[index], tasks.sample_label(self.y, index)

    def upload(self, array):
        return uploaded_image(array, self.models.side, self.models.channels)


def _sketch_tab(models, guard):
    with gr.Tab("Sketch → image", id="sketch"):
        gr.Markdown("Draw with the mouse, pick a class, click **Make it**: the robust model grows the strokes into "
                    "that class; the standard model gets the same strokes (the control).")
        with gr.Row():
            canvas = gr.Sketchpad(label="sketch", type="numpy", image_mode="RGBA", canvas_size=(256, 256),
                                  fixed_canvas=True, layers=False, format="png", elem_id="sketch-canvas",
                                  brush=gr.Brush(colors=["#000000", "#1f4fd1", "#2a9d3c", "#c0392b", "#8b5a2b"],
                                                 default_color="#000000", default_size=8, color_mode="fixed"))
            with gr.Column():
                target = _class_box("sketch-class")
                run = gr.Button("Make it", variant="primary", elem_id="sketch-run")
                stop = gr.Button("Stop", elem_id="sketch-stop")
        with gr.Row():
            with gr.Column():
                robust, robust_text = _result("sketch-robust", "robust model")
            with gr.Column():
                standard, standard_text = _result("sketch-standard", "standard model (control)")

    def make(drawn, name):
        return tasks.sketch(models, canvas_sketch(drawn, models.side, models.channels), tasks.class_index(name))

    outputs = [robust, robust_text, standard, standard_text]
    event = run.click(_guarded(make, guard, 4, "sketch to image"), [canvas, target], outputs,
                      trigger_mode="multiple", concurrency_id="synthesis")
    stop.click(None, cancels=[event])


def _generation_tab(models, guard):
    with gr.Tab("Generate", id="generate"):
        gr.Markdown(f"Pick a class and a seed: {tasks.GENERATED_PER_CLICK} images from each model, same seeds.")
        with gr.Row():
            target = _class_box("generate-class")
            seed = gr.Number(value=0, precision=0, label="seed", elem_id="generate-seed")
            run = gr.Button("Generate", variant="primary", elem_id="generate-run")
            stop = gr.Button("Stop", elem_id="generate-stop")
        with gr.Row():
            with gr.Column():
                robust, robust_text = _result("generate-robust", "robust model")
            with gr.Column():
                standard, standard_text = _result("generate-standard", "standard model")

    def make(name, number):
        return tasks.generate(models, tasks.class_index(name), tasks.seed_value(number))

    outputs = [robust, robust_text, standard, standard_text]
    event = run.click(_guarded(make, guard, 4, "generating"), [target, seed], outputs, trigger_mode="multiple",
                      concurrency_id="synthesis")
    stop.click(None, cancels=[event])


def _inpainting_tab(models, guard, pictures):
    with gr.Tab("Inpaint", id="inpaint"):
        gr.Markdown("Pick a test image, paint over the part to fill, pick the class it should show, click **Fill**.")
        index, upload = _picker("inpaint")
        image = gr.State(pictures.x[0])
        with gr.Row():
            editor = _editor("inpaint-editor", "paint the mask", "#ff00ff")
            with gr.Column():
                target = _class_box("inpaint-class", value=tasks.sample_label(pictures.y, 0))
                run = gr.Button("Fill", variant="primary", elem_id="inpaint-run")
                stop = gr.Button("Stop", elem_id="inpaint-stop")
        with gr.Row():
            masked, _ = _result("inpaint-masked", "masked")
            filled, filled_text = _result("inpaint-result", "inpainted")

    def pick(number):
        picture, label = pictures.sample(number)
        return picture, _background(picture), label

    def take(array):
        picture = pictures.upload(array)
        return picture, _background(picture)

    def make(picture, painted, name):
        mask = painted_region(painted, models.side, what="mask")
        return tasks.inpaint(models, picture, mask, tasks.class_index(name))

    index.change(_guarded(pick, guard, 3, "loading"), index, [image, editor, target])
    upload.upload(_guarded(take, guard, 2, "loading"), upload, [image, editor])
    event = run.click(_guarded(make, guard, 3, "inpainting"), [image, editor, target], [masked, filled, filled_text],
                      trigger_mode="multiple", concurrency_id="synthesis")
    stop.click(None, cancels=[event])
    return editor


def _translation_tab(models, guard, pictures):
    with gr.Tab("Translate", id="translate"):
        gr.Markdown("Pick a test image and the class it should become (e.g. horse → deer), click **Translate**.")
        index, upload = _picker("translate")
        image = gr.State(pictures.x[0])
        with gr.Row():
            source = gr.Image(value=zoomed(pictures.x[0]), label="source", format="png", height=192,
                              interactive=False, elem_id="translate-source", elem_classes="pixelated")
            with gr.Column():
                target = _class_box("translate-class", value="dog")
                run = gr.Button("Translate", variant="primary", elem_id="translate-run")
                stop = gr.Button("Stop", elem_id="translate-stop")
            result, text = _result("translate-result", "translated")

    def pick(number):
        picture, _ = pictures.sample(number)
        return picture, zoomed(picture)

    def take(array):
        picture = pictures.upload(array)
        return picture, zoomed(picture)

    def make(picture, name):
        return tasks.translate(models, picture, tasks.class_index(name))

    index.change(_guarded(pick, guard, 2, "loading"), index, [image, source])
    upload.upload(_guarded(take, guard, 2, "loading"), upload, [image, source])
    event = run.click(_guarded(make, guard, 2, "translating"), [image, target], [result, text],
                      trigger_mode="multiple", concurrency_id="synthesis")
    stop.click(None, cancels=[event])


def _manipulation_tab(models, guard, pictures):
    with gr.Tab("Paint features", id="paint"):
        gr.Markdown("Pick a test image and a class; paint a region freehand and click **Paint**: the class's "
                    "strongest feature grows where the brush went. **Undo** steps back.")
        index, upload = _picker("paint")
        painter = gr.State(None)
        with gr.Row():
            editor = _editor("paint-editor", "paint the region", "#00c8ff")
            with gr.Column():
                target = _class_box("paint-class", value="horse", label="feature of class")
                with gr.Row():
                    run = gr.Button("Paint", variant="primary", elem_id="paint-run")
                    undo = gr.Button("Undo", elem_id="paint-undo")
                    stop = gr.Button("Stop", elem_id="paint-stop")
                current, text = _result("paint-result", "current image")

    def fresh(picture):
        return synthesis.FeaturePainter(models.robust, picture), _background(picture), zoomed(picture), ""

    def pick(number):
        return fresh(pictures.sample(number)[0])

    def take(array):
        return fresh(pictures.upload(array))

    def ready(state):
        return state if state is not None else synthesis.FeaturePainter(models.robust, pictures.x[0])

    def make(state, painted, name):
        state = ready(state)
        region = painted_region(painted, models.side, what="region")
        shown, verdict = tasks.paint(state, models, region, tasks.class_index(name))
        return state, _background(state.image), shown, verdict

    def back(state, name):
        state = ready(state)
        shown, verdict = tasks.undo(state, models, tasks.class_index(name))
        return state, _background(state.image), shown, verdict

    outputs = [painter, editor, current, text]
    index.change(_guarded(pick, guard, 4, "loading"), index, outputs)
    upload.upload(_guarded(take, guard, 4, "loading"), upload, outputs)
    event = run.click(_guarded(make, guard, 4, "painting"), [painter, editor, target], outputs,
                      trigger_mode="multiple", concurrency_id="synthesis")
    undo.click(_guarded(back, guard, 4, "undo"), [painter, target], outputs, trigger_mode="multiple",
               concurrency_id="synthesis")
    stop.click(None, cancels=[event])
    return editor


def build_app(models):
    """The demo page for `models` (a `DemoModels`), not yet launched.

    Args:
        models: `robustkeras.demo.models.load(name)`.

    Returns:
        A `gr.Blocks`.

    Example:
        >>> app = build_app(load("fastnet_l2_robust"))
    """
    guard = OneAtATime()
    pictures = _Pictures(models)
    with gr.Blocks(title="robustkeras: one robust classifier, five synthesis tasks", analytics_enabled=False,
                   delete_cache=(600, 3600)) as app:
        gr.Markdown(f"## One robust classifier, five synthesis tasks\nModel: `{models.name}` "
                    f"({models.side}x{models.side}). Under each result: the class a standard judge sees after a "
                    f"low-pass filter (✓ when it is the class asked for) and the robust model's probability.")
        with gr.Tabs():
            _sketch_tab(models, guard)
            _generation_tab(models, guard)
            inpaint_editor = _inpainting_tab(models, guard, pictures)
            _translation_tab(models, guard, pictures)
            paint_editor = _manipulation_tab(models, guard, pictures)
        start = _background(pictures.x[0])
        app.load(lambda: (start, start), None, [inpaint_editor, paint_editor])
    return app


