"""The few backend-specific pieces: input gradients, stateless noise, compilation.

Everything else in robustkeras is written in `keras.ops` and shared by the
TensorFlow path (teaching, this CPU) and the JAX path (GPU machines without
TensorFlow). No module imports TensorFlow or JAX at the top level.
"""

import keras


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
    if name() == "jax":
        import jax

        def total(x):
            values = objective(x)
            return keras.ops.sum(values), values

        (_, values), grad = jax.value_and_grad(total, has_aux=True)(x)
        return values, grad
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        values = objective(x)
        total = tf.reduce_sum(values)
    return values, tape.gradient(total, x)


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


def compile_fn(fn, *, jit_compile=None):
    """Compile `fn` once: `tf.function` (XLA off by default: slower on this CPU) or `jax.jit`.

    Args:
        fn: a pure function of tensors.
        jit_compile: TensorFlow only; `None` keeps TensorFlow's default kernels.

    Returns:
        The compiled callable.
    """
    if name() == "jax":
        import jax

        return jax.jit(fn)
    import functools

    import tensorflow as tf

    # TF's "frequent retracing" warning counts traces per code object, so the closures
    # built once per model and task would be summed together and warned about; a partial
    # gives each compiled function its own count, and real retracing still warns.
    return tf.function(functools.partial(fn), jit_compile=jit_compile, reduce_retracing=True)


def inference_fn(model):
    """A pure `(state, x) -> float32 outputs` view of `model` in inference mode, and its state.

    On TensorFlow the state is empty and variables are read by reference; on JAX
    the variable values are passed in explicitly, so a jitted attack never bakes
    stale weights into its trace.

    Args:
        model: a Keras model, or any callable `x -> logits` (then state is empty).

    Returns:
        `(fn, state)`.
    """
    if name() == "jax" and isinstance(model, keras.Model):

        def fn(state, x):
            trainable, non_trainable = state
            outputs, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            return _to_float32(outputs)

        state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
        )
        return fn, state
    if isinstance(model, keras.Model):
        return (lambda state, x: _to_float32(model(x, training=False))), ()
    return (lambda state, x: _to_float32(model(x))), ()


def _to_float32(outputs):
    # Mixed-precision models may return bfloat16 features; attack math stays float32.
    return keras.tree.map_structure(lambda t: keras.ops.cast(t, "float32"), outputs)
