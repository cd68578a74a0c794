"""`quantize(model, "int8", calibration=x)`: an int8 deployable of a robust classifier and its differentiable twin.

Keras' own `model.quantize("int8")` quantises only dense, einsum-dense and
embedding layers: a convolutional classifier keeps its float convolutions and
barely shrinks. Here the whole network goes to full-integer TensorFlow Lite
(int8 weights per channel, int8 activations per tensor, int8 input and output),
which has no gradients; its twin is a Keras model that computes the same
numbers in float32 on the same grids, with straight-through gradients.

Judge the int8 model's robustness by the strongest of: PGD on the twin (white
box), PGD transferred from the float model, and the score-based Square attack
on the deployable itself (`attacks.square(q.tflite, ...)`): rounding can hide
gradients, a transferred attack alone proves nothing, and Square needs no
gradient (see `benchmarks/quantize_int8.py`).

The deployable needs TensorFlow (its converter and interpreter); under the JAX
backend the conversion runs in a TensorFlow-backend subprocess and the twin
runs on JAX.
"""

import dataclasses

import keras

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras.models import tflite_convert, tflite_graph
from robustkeras.models.int8_twin import int8_twin
from robustkeras.models.tflite_runner import TFLiteClassifier

MODES = ("int8",)


@dataclasses.dataclass(frozen=True)
class QuantizedModel:
    """The int8 model three ways.

    Attributes:
        flatbuffer: bytes of the full-integer TensorFlow Lite model (write them to a `.tflite` file to deploy).
        tflite: `TFLiteClassifier` running `flatbuffer` on [0, 1] float images, returning float logits
            (forward passes only: accuracy, `attacks.square`).
        twin: `keras.Model` with the same arithmetic and straight-through gradients (PGD, synthesis).
    """

    flatbuffer: bytes
    tflite: TFLiteClassifier
    twin: keras.Model

    @property
    def size(self):
        """Bytes of the deployable flatbuffer."""
        return len(self.flatbuffer)


def _check_model(model):
    spec = _checks.classifier(model)
    if not isinstance(model, keras.Model) or spec.shape is None or None in spec.shape:
        raise ValueError("Expected `model` to be a functional or Sequential Keras classifier with a fixed input shape "
                         f"(the converter traces it). Received: model={type(model).__name__}")
    return spec


def quantize(model, mode="int8", *, calibration, batch_size=50, num_threads=2):
    """Quantise a Keras image classifier to full-integer int8 TensorFlow Lite, with a differentiable twin.

    Post-training quantisation by TensorFlow Lite's converter: batch norms
    folded, weights int8 symmetric per output channel, activations int8 per
    tensor on grids set by the ranges met on `calibration`, int8 input (the
    [0, 1] pixels on their own grid) and int8 logits. A final softmax is removed
    first (the int8 model returns logits). The twin is read back from the
    flatbuffer, so it uses the very weights and grids of the deployable.

    Needs TensorFlow installed (converter, interpreter, flatbuffer schema); under
    `KERAS_BACKEND=jax` the conversion runs in a TensorFlow-backend subprocess.

    Args:
        model: a functional or Sequential Keras classifier taking [0, 1] images.
        mode: "int8" (the only mode).
        calibration: float images `(N, H, W, C)` in [0, 1] of the model's input shape, typical of
            its inputs (e.g. a few hundred training or held-out images, not the images you then
            evaluate on); they set the activation grids. The input grid always spans [0, 1].
        batch_size: calibration images per converter step.
        num_threads: threads of the deployable's interpreter.

    Returns:
        A `QuantizedModel`: `.flatbuffer` (bytes), `.tflite` (callable, float logits), `.twin` (keras.Model).

    Example:
        >>> calibration = data.to_float(data.load_cifar10_arrays("train", limit=200)[0])
        >>> q = quantize(pretrained.load("fastnet_l2_robust"), "int8", calibration=calibration)
        >>> x, y = data.load_sample()
        >>> q.size / 1e6, evaluate.clean_accuracy(q.tflite, x, y)
        (1.666584, 0.785)
        >>> x_adv = attacks.pgd(q.twin, x, y, norm="l2", eps=0.5, step_size=0.0625, steps=20)
    """
    mode = _checks.one_of("mode", mode, MODES)
    spec = _check_model(model)
    calibration = _checks.images_for(spec, "calibration", calibration, model=model)
    batch_size = _checks.positive_int("batch_size", batch_size)
    num_threads = _checks.positive_int("num_threads", num_threads)
    convert = tflite_convert.convert_here if B.name() == "tensorflow" else tflite_convert.convert_in_subprocess
    flatbuffer = tflite_graph.compact(convert(model, calibration, batch_size))  # a final softmax is removed there
    return QuantizedModel(flatbuffer=flatbuffer, tflite=TFLiteClassifier(flatbuffer, num_threads=num_threads),
                          twin=int8_twin(flatbuffer, name=f"{model.name}_{mode}_twin"))
