"""What the library reads from a classifier: input shape, class count, logits, penultimate features.

Every public function takes "any Keras image classifier": the image shape and
the number of classes come from the model (`input_shape`, `num_classes`),
softmax outputs are turned back into logits on purpose (`logits_model`), and
the penultimate features are the input of the final dense layer, found through
nested and wrapped models (`feature_model`).

Derived models share the classifier's variables and are cached weakly by the
classifier, so dropping the classifier frees them.
"""

import weakref

import keras

_DERIVED = weakref.WeakKeyDictionary()


def _cached(model, kind, build):
    per_model = _DERIVED.setdefault(model, {})
    if kind not in per_model:
        per_model[kind] = build(model)
    return per_model[kind]


def _graph_output(model):
    """The model's (single) symbolic output, or None for a subclassed or unbuilt model."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    if not outputs:
        return None
    if len(outputs) != 1:
        raise ValueError(f"Expected `model` with one output (the logits). Received: a model with {len(outputs)} outputs")
    return outputs[0]


def input_shape(model):
    """The image shape `(H, W, C)` the model takes (entries may be None), or None if unknown.

    Example:
        >>> input_shape(keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3)))
        (32, 32, 3)
    """
    first = _first_input(model)
    if first is None:
        return None
    shape = tuple(first.shape[1:])
    return shape if len(shape) == 3 else None


def input_dtype(model):
    """The dtype of the model's (first) input, e.g. "float32" or "uint8", or None if unknown."""
    first = _first_input(model)
    return None if first is None else keras.backend.standardize_dtype(first.dtype)


def _first_input(model):
    """The model's first symbolic input, or None for a subclassed or unbuilt model."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return inputs[0] if inputs else None


def takes_integers(model):
    """True if the model's input is of an integer dtype (e.g. `keras.Input(shape, dtype="uint8")`).

    Keras casts a float batch to that dtype on the way in, which truncates it and
    cuts every input gradient; `pixel_model` gives such a model a float path.

    Example:
        >>> takes_integers(keras.Sequential([keras.Input((8, 8, 3), dtype="uint8"), keras.layers.Flatten()]))
        True
    """
    dtype = input_dtype(model)
    return dtype is not None and ("int" in dtype or dtype == "bool")


def num_classes(model):
    """The number of output classes, from the model's output shape (None if unknown)."""
    out = _graph_output(model)
    return None if out is None else out.shape[-1]


def _single(inputs):
    return inputs[0] if len(inputs) == 1 else inputs


def _node(tensor):
    op, node_index, _ = tensor._keras_history
    return op, op._inbound_nodes[node_index]


def _softmax_name(function):
    return getattr(function, "__name__", "").startswith("softmax")  # keras, jax: softmax; tf.nn: softmax_v2


def _is_softmax(op):
    """A softmax over the classes: a `Softmax` layer, `keras.ops.softmax`, a softmax activation or Lambda."""
    if isinstance(op, keras.layers.Softmax):
        return True
    if type(op).__name__ == "Softmax" and type(op).__module__.startswith("keras"):  # keras.ops.softmax(t)
        return getattr(op, "axis", -1) in (-1, None)
    if isinstance(op, keras.layers.Lambda):
        return _softmax_name(op.function)
    activation = getattr(op, "activation", None)
    return activation is not None and _softmax_name(activation)


@keras.saving.register_keras_serializable(package="robustkeras")
class DenseLogits(keras.layers.Layer):
    """The pre-activation of a `Dense(..., activation="softmax")` layer (shares its weights)."""

    def __init__(self, dense, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense

    def call(self, x):
        z = keras.ops.matmul(x, self.dense.kernel)
        return z + self.dense.bias if self.dense.use_bias else z


def _split(model):
    """Symbolic `(logits, features)` tensors over `model.inputs`; features may be None.

    Follows the graph back from the output: a final softmax (a `Softmax` or
    softmax `Activation` layer, or a dense layer with a softmax activation) is
    removed; a nested functional model is opened and split the same way.
    """
    out = _graph_output(model)
    if out is None:
        return None, None
    op, node = _node(out)
    if isinstance(op, keras.Model) and _graph_output(op) is not None:
        inner = _cached(op, "split_nested", _split_nested)
        outputs = inner(node.input_tensors[0])
        return tuple(outputs) if isinstance(outputs, (list, tuple)) else (outputs, None)
    if _is_softmax(op) and not isinstance(op, keras.layers.Dense):
        logits = node.input_tensors[0]
        inner_op, inner_node = _node(logits)
        features = inner_node.input_tensors[0] if isinstance(inner_op, keras.layers.Dense) else None
        return logits, features
    if isinstance(op, keras.layers.Dense):
        features = node.input_tensors[0]
        logits = DenseLogits(op, name=f"{op.name}_logits")(features) if _is_softmax(op) else out
        return logits, features
    return out, None


def _split_nested(model):
    """A nested model's `_split` as a model: `[logits, features]`, or the logits alone when it has no dense head
    (e.g. MobileNetV3: a 1x1 convolution, then a softmax `Activation`)."""
    logits, features = _split(model)
    outputs = logits if features is None else [logits, features]
    return keras.Model(_single(model.inputs), outputs, name=f"{model.name}_split")


def _split_model(model):
    logits, features = _split(model)
    if features is None:
        raise ValueError(
            f"Expected `model` to end in a dense layer (the classifier head; its input is the penultimate "
            f"features), possibly followed by a softmax. Received: {model.name} ends in "
            f"{_node(_graph_output(model))[0].__class__.__name__}")
    return keras.Model(_single(model.inputs), [logits, features], name=f"{model.name}_features")


def ends_in_softmax(model):
    """True if the model's output is a softmax (then the library works on its logits).

    Example:
        >>> ends_in_softmax(keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]))
        True
    """
    out = _graph_output(model)
    if out is None:
        return False
    op, _ = _node(out)
    if isinstance(op, keras.Model) and _graph_output(op) is not None:
        return ends_in_softmax(op)
    return _is_softmax(op)


def logits_model(model):
    """`model` itself if it returns logits; for a softmax model, the same network without the softmax.

    Recovering the logits explicitly gives the attacks and the synthesis the
    same numbers on a softmax model as on its logits twin, on every backend.

    Example:
        >>> logits = logits_model(model)(x)
    """
    if not isinstance(model, keras.Model) or not ends_in_softmax(model):
        return model

    def build(model):
        logits, _ = _split(model)
        return keras.Model(_single(model.inputs), logits, name=f"{model.name}_logits")

    return _cached(model, "logits", build)


def feature_model(model):
    """`model` with two outputs: logits and penultimate features (the classifier head's input).

    Works for functional and Sequential models, models whose last layer is a
    model (`keras.Model(i, base(i))`), and models ending in a softmax (the
    logits are recovered). Built once per model; it shares the model's variables.

    Example:
        >>> logits, features = feature_model(model)(x)
    """
    if not isinstance(model, keras.Model) or _graph_output(model) is None:
        raise ValueError("Expected `model` to be a functional or Sequential Keras model with a known input "
                         f"(its layer graph gives the features). Received: model={type(model).__name__}")
    return _cached(model, "split_model", _split_model)


def head_weights(model):
    """The final dense layer's kernel `(features, classes)` as numpy (the head of `feature_model`)."""
    import numpy as np

    out = _graph_output(model)
    op, _ = _node(out)
    if isinstance(op, keras.Model) and _graph_output(op) is not None:
        return head_weights(op)
    if _is_softmax(op) and not isinstance(op, keras.layers.Dense):
        op, _ = _node(_node(out)[1].input_tensors[0])
    if not isinstance(op, keras.layers.Dense):
        raise ValueError(f"Expected `model` to end in a dense layer. Received: it ends in {op.__class__.__name__}")
    return np.asarray(op.kernel)


def _first_rescaling(model):
    """`(layer, stop)`: the first `Rescaling` met before any layer with weights, descending into nested models."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Rescaling):
            return layer, True
        if isinstance(layer, keras.Model):
            found, stop = _first_rescaling(layer)
            if stop:
                return found, True
        elif layer.weights:
            return None, True
    return None, False


def input_scale(model):
    """The scale of the `Rescaling` the model applies to its pixels before any weighted layer, or None."""
    layer, _ = _first_rescaling(model)
    if layer is None:
        return None
    import numpy as np

    return np.asarray(layer.scale, np.float64)


def expects_0_255(model):
    """True if the model rescales its input by 1/127 or less before its first weighted layer.

    Such a model expects [0, 255] pixels: `Rescaling(1/255)` or
    `Rescaling(1/127.5, offset=-1)`, also after a `Resizing` or inside a
    nested model (`keras.Model(i, base(i))`).

    Example:
        >>> expects_0_255(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
        ...                                 keras.layers.Flatten(), keras.layers.Dense(2)]))
        True
    """
    import numpy as np

    scale = input_scale(model)
    return scale is not None and bool(np.all((np.abs(scale) > 0) & (np.abs(scale) <= 1 / 127 + 1e-9)))


def pixel_model(model, input_range):
    """Wrap a classifier that expects inputs in `input_range` so it takes [0, 1] pixels.

    The library attacks and synthesises in [0, 1] pixel space (where the threat
    ball and the box are defined). A model that expects [0, 255] (e.g. one
    starting with `Rescaling(1/255)`) or [-1, 1] (`keras.applications.MobileNetV2`)
    is wrapped with a `Rescaling` layer mapping [0, 1] onto its range; the
    wrapper shares its variables. A model whose input is an integer dtype
    (`keras.Input(shape, dtype="uint8")`) is rebuilt on a float input
    (`float_input_model`) and fed the pixels rounded to integers with a
    straight-through gradient: its outputs are those of the integer images,
    and the attacks and the synthesis get input gradients.

    Args:
        model: a Keras classifier with a known input shape.
        input_range: `(low, high)` of the inputs `model` expects, e.g. `(0, 255)` or `(-1, 1)`.

    Returns:
        A `keras.Model` taking [0, 1] images.

    Example:
        >>> net = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10,
        ...                                      classifier_activation=None)
        >>> x_adv = attacks.pgd(pixel_model(net, (-1, 1)), x, y, norm="l2", eps=0.5, step_size=0.1, steps=10)
    """
    import numbers

    if (not isinstance(input_range, (tuple, list)) or len(input_range) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in input_range)
            or not input_range[0] < input_range[1]):
        raise ValueError(f"Expected `input_range` to be (low, high) with low < high. Received: input_range={input_range!r}")
    shape = input_shape(model)
    if shape is None:
        raise ValueError("Expected `model` with a known input shape (a functional or Sequential model with an Input). "
                         f"Received: model={type(model).__name__}")
    low, high = float(input_range[0]), float(input_range[1])
    inputs = keras.Input(shape)
    scaled = keras.layers.Rescaling(scale=high - low, offset=low, name="to_model_range")(inputs)
    if takes_integers(model):
        # Calling the model would cast the floats to its integer dtype (truncating them and cutting
        # the gradient): run its layers on a float input instead, fed integer-valued pixels whose
        # rounding passes the gradient straight through.
        scaled = StraightThroughRound(name="round_straight_through")(scaled)
        model = float_input_model(model)
    return keras.Model(inputs, model(scaled), name=f"{model.name}_pixels")


def float_input_model(model):
    """`model` rebuilt on a float32 input of the same shape; it shares the model's layers and weights.

    For a model whose `Input` is an integer dtype: the rebuilt graph runs the
    same layers on float pixels, so input gradients exist. Feed it
    integer-valued pixels (as `pixel_model` does) to get the model's own outputs.

    Args:
        model: a functional or Sequential Keras model.

    Returns:
        A `keras.Model` with a float32 input.

    Example:
        >>> net = float_input_model(uint8_net)
        >>> np.allclose(net(np.round(x255)), uint8_net(np.round(x255).astype("uint8")))
        True
    """
    shape = input_shape(model)
    if shape is None or isinstance(model, keras.Model) and _graph_output(model) is None:
        raise ValueError("Expected `model` to be a functional or Sequential Keras model with a known input "
                         f"(its layers are rebuilt on a float input). Received: model={type(model).__name__}")
    return keras.models.clone_model(model, input_tensors=keras.Input(shape, dtype="float32"),
                                    clone_function=lambda layer: layer)


@keras.saving.register_keras_serializable(package="robustkeras")
class StraightThroughRound(keras.layers.Layer):
    """Rounds to the nearest integer forwards; passes the gradient unchanged backwards.

    What an integer input does to float pixels, minus the cut gradient (the
    straight-through estimator of Bengio et al. 2013).

    Example:
        >>> StraightThroughRound()(np.array([0.4, 1.6]))  # [0., 2.], gradient 1 everywhere
    """

    def call(self, x):
        return x + keras.ops.stop_gradient(keras.ops.round(x) - x)
