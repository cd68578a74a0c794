"""The few backend-specific pieces: input gradients, stateless noise, compilation.

Everything else in robustkeras is written in `keras.ops` and shared by the
TensorFlow path (teaching, this CPU) and the JAX path (GPU machines without
TensorFlow). No module imports TensorFlow or JAX at the top level.

The iteration engine's shared pieces live here: one input-gradient helper
(`value_aux_and_input_grad`; `value_and_input_grad` is it without the aux
output), one compile cache per model (`compiled`), and the pure inference view
of a model (`inference_fn`). Cached functions hold their model weakly, so a
dropped model is freed with everything compiled for it.
"""

import weakref

import keras

SUPPORTED = ("tensorflow", "jax")

if keras.backend.backend() not in SUPPORTED:
    raise ImportError(
        f"robustkeras runs on the TensorFlow and JAX backends of Keras. Received: KERAS_BACKEND="
        f"{keras.backend.backend()!r}; set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax before importing keras.")


def name():
    """The active Keras backend: "tensorflow" or "jax"."""
    return keras.backend.backend()


def value_and_input_grad(objective, x):
    """Per-example objective values and the gradient of their sum with respect to `x`.

    Args:
        objective: callable `x -> (N,)` tensor, differentiable in `x`.
        x: float tensor `(N, ...)`.

    Returns:
        `(values, grad)` with `values` of shape `(N,)` and `grad` shaped like `x`.

    Example:
        >>> values, grad = value_and_input_grad(lambda x: keras.ops.sum(x**2, axis=1), x)
    """
    values, _, grad = value_aux_and_input_grad(lambda t: (objective(t), ()), x)
    return values, grad


def value_aux_and_input_grad(objective, x):
    """Like `value_and_input_grad` for an objective that also returns an auxiliary output.

    Attacks use it to get the logits of the very forward pass that gave the
    gradient, instead of paying a second forward pass.

    Args:
        objective: callable `x -> (values, aux)`, `values` of shape `(N,)`.
        x: float tensor `(N, ...)`.

    Returns:
        `(values, aux, grad)`.

    Example:
        >>> values, logits, grad = value_aux_and_input_grad(lambda x: (loss(model(x)), model(x)), x)
    """
    if name() == "jax":
        import jax

        def total(x):
            values, aux = objective(x)
            return keras.ops.sum(values), (values, aux)

        (_, (values, aux)), grad = jax.value_and_grad(total, has_aux=True)(x)
        return values, aux, grad
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        values, aux = objective(x)
        total = tf.reduce_sum(values)
    return values, aux, tape.gradient(total, x)


def fold_seed(seed, salt):
    """A 2-element int32 seed tensor from a scalar seed and a salt (e.g. step or restart index)."""
    return keras.ops.stack(
        [keras.ops.cast(seed, "int32"), keras.ops.cast(salt, "int32")]
    )


def stateless_uniform(shape, seed, minval=0.0, maxval=1.0):
    """Uniform noise that depends only on `seed` (a 2-element int32 tensor)."""
    if name() == "jax":
        import jax

        key = jax.random.fold_in(jax.random.PRNGKey(seed[0]), seed[1])
        return jax.random.uniform(key, shape, minval=minval, maxval=maxval)
    import tensorflow as tf

    return tf.random.stateless_uniform(shape, seed, minval=minval, maxval=maxval)


def stateless_normal(shape, seed):
    """Standard normal noise that depends only on `seed` (a 2-element int32 tensor)."""
    if name() == "jax":
        import jax

        key = jax.random.fold_in(jax.random.PRNGKey(seed[0]), seed[1])
        return jax.random.normal(key, shape)
    import tensorflow as tf

    return tf.random.stateless_normal(shape, seed)


def compile_fn(fn, *, jit_compile=None, static_argnames=()):
    """Compile `fn` once: `tf.function` (XLA off by default: slower on this CPU) or `jax.jit`.

    Args:
        fn: a pure function of tensors.
        jit_compile: TensorFlow only; `None` keeps TensorFlow's default kernels.
        static_argnames: JAX only: arguments whose values shape the computation
            (e.g. a step count that sizes a history buffer); TensorFlow takes them as tensors.

    Returns:
        The compiled callable.
    """
    if name() == "jax":
        import jax

        return jax.jit(fn, static_argnames=static_argnames)
    import functools

    import tensorflow as tf

    # TF's "frequent retracing" warning counts traces per code object, so the closures
    # built once per model and task would be summed together and warned about; a partial
    # gives each compiled function its own count, and real retracing still warns.
    return tf.function(functools.partial(fn), jit_compile=jit_compile, reduce_retracing=True)


# The one compile cache: {model: {key: compiled function}}, weak in the model.
_COMPILED = weakref.WeakKeyDictionary()


def compiled(model, key, build, *, static_argnames=()):
    """The compiled function for `(model, key)`, built and compiled on first use.

    Args:
        model: the model the function runs (the cache key; held weakly).
        key: hashable options that change the computation (norm, loss, objective, ...).
        build: `() -> fn`, a pure function to compile; it must reach the model only
            through `inference_fn` (which holds it weakly), never by closing over it.
        static_argnames: see `compile_fn`.

    Returns:
        The compiled callable.

    Example:
        >>> attack = compiled(model, ("pgd", "l2"), lambda: make_attack(model_fn))
    """
    per_model = _COMPILED.setdefault(model, {})
    if key not in per_model:
        per_model[key] = compile_fn(build(), static_argnames=static_argnames)
    return per_model[key]


def inference_fn(model):
    """A pure `(state, x) -> float32 outputs` view of `model` in inference mode, and its state.

    On TensorFlow the state is empty and variables are read by reference; on JAX
    the variable values are passed in explicitly, so a jitted attack never bakes
    stale weights into its trace. The function holds `model` weakly: compiled
    code cached for a model does not keep it alive.

    Args:
        model: a Keras model, or any callable `x -> logits` (then state is empty).

    Returns:
        `(fn, state)`.
    """
    if not isinstance(model, keras.Model):
        return (lambda state, x: _to_float32(model(x))), ()
    ref = weakref.ref(model)
    if name() == "jax":

        def fn(state, x):
            trainable, non_trainable = state
            outputs, _ = ref().stateless_call(trainable, non_trainable, x, training=False)
            return _to_float32(outputs)

        state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
        )
        return fn, state
    return (lambda state, x: _to_float32(ref()(x, training=False))), ()


def _to_float32(outputs):
    # Mixed-precision models may return bfloat16 features; attack math stays float32.
    return keras.tree.map_structure(lambda t: keras.ops.cast(t, "float32"), outputs)


# Checked once per model: {model: True}, weak in the model.
_GRADIENT_CHECKED = weakref.WeakKeyDictionary()

NO_GRADIENT_ADVICE = (
    "attack it with robustkeras.attacks.square (it needs no gradient), or give the operation a "
    "straight-through gradient: y = x + keras.ops.stop_gradient(op(x) - x)")


def check_input_gradient(model, x=None, *, name="model"):
    """Refuse a model whose logits have no gradient with respect to its input (checked once per model).

    Gradient attacks, gradient evaluations, adversarial training and synthesis
    need the input gradient. An operation without one on the input path (a cast
    to an integer type, `round`, a quantiser) gives `None` on TensorFlow and
    zeros on JAX: the attack would then fail deep inside, or silently not move.
    This probes one random linear combination of the logits on a few images
    (`x[:2]`, or random images of the model's input shape) and raises if its
    gradient is `None`, or zero for every image. Zero is decided on the caller's
    images only: zero on random images defers the check to the first images
    passed (returns False), and zero on `x[:2]` is re-checked on `x[:32]` before
    refusing, so a model whose gradient vanishes on noise or on some images is kept.

    Args:
        model: a Keras classifier (a final softmax is removed first) or a callable `x -> logits`.
        x: optional images `(N, H, W, C)` in [0, 1]; needed when the model's input shape is unknown.
        name: the argument name used in the error.

    Returns:
        True if the gradient was checked (now or before), False if it is left to
        the first images passed (no images and no known input shape, or a zero
        gradient on random images).

    Example:
        >>> check_input_gradient(model)
        True
    """
    import numpy as np

    from robustkeras.models import introspect

    try:
        if model in _GRADIENT_CHECKED:
            return True
    except TypeError:  # not weakly referenceable: checked on every call
        pass
    random_images = x is None
    if random_images:
        shape = introspect.input_shape(model) if isinstance(model, keras.Model) else None
        if shape is None or any(s is None for s in shape):
            return False
        x = np.random.default_rng(0).random((2, *shape)).astype("float32")
    grad = _probe_input_gradient(model, x[:2])
    if grad is not None and not np.any(grad != 0):
        if random_images:  # noise is not the user's data: decide on the first images passed
            return False
        if len(x) > 2:
            grad = _probe_input_gradient(model, x[:32])
    if grad is None:
        cause = "is None (an operation on the input path has no gradient)"
    elif not np.any(grad != 0):
        cause = "is zero for every image (an operation on the input path has a zero or no gradient)"
    else:
        cause = None
    if cause is not None:
        raise ValueError(
            f"Expected `{name}` to have input gradients (this step follows them). Received: a model whose "
            f"gradient with respect to its input {cause}, e.g. a cast to an integer type, a rounding or a "
            f"quantiser; {NO_GRADIENT_ADVICE}")
    try:
        _GRADIENT_CHECKED[model] = True
    except TypeError:
        pass
    return True


def _probe_input_gradient(model, x):
    """The input gradient (NumPy) of one fixed random combination of `model`'s logits at `x`, or None."""
    import numpy as np

    from robustkeras.models import introspect

    x = keras.ops.convert_to_tensor(np.asarray(x, np.float32))
    net = introspect.logits_model(model)
    call = (lambda t: net(t, training=False)) if isinstance(net, keras.Model) else net
    weights = {}

    def objective(t):
        logits = keras.ops.cast(call(t), "float32")
        if "w" not in weights:  # one fixed random combination of the classes
            weights["w"] = np.random.default_rng(1).standard_normal(logits.shape[-1]).astype("float32")
        return keras.ops.sum(logits * weights["w"], axis=-1)

    _, grad = value_and_input_grad(objective, x)
    return None if grad is None else np.asarray(keras.ops.convert_to_numpy(grad))
