"""Own-work check (course/checks/notebook.py) against answers that reach code by a name it cannot read.

Review of issue 29: the AST check followed names and attribute chains only, and the sandbox's
second line (the stubbed `robustkeras` copy and the patched `keras` attributes) does not cover
TensorFlow, Keras internals or the grader's own package. These answers got full marks for
stage 01's softmax / cross-entropy: `tf.raw_ops.Softmax`, `getattr(keras.src.ops.nn, "softmax")`,
`keras.activations.get("softmax")`, `keras.layers.Activation("softmax")`, `tf.compat.v1.nn.softmax`,
`tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits`, the grader's `course.checks._reference`, a name
bound by a walrus in a default or a `global` in a class body... Each must now be refused, and the
honest answers beside them (plain numpy, `keras.ops` arithmetic, a literal `getattr`, an exception
handler, a name that is merely undefined) must not be. In-process, no sandbox: a few seconds.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course import config  # noqa: E402
from course.checks import stage_checks  # noqa: E402
from course.checks.notebook import own_work_violations  # noqa: E402

STAGE = "01_classification"

ESCAPES = {
    "raw_ops": "import tensorflow as tf\ndef softmax(z):\n    return tf.raw_ops.Softmax(logits=z).numpy()\n",
    "raw_ops_star": "from tensorflow.raw_ops import *\ndef softmax(z):\n    return Softmax(logits=z).numpy()\n",
    "computed_getattr": "import keras\ndef softmax(z):\n    return getattr(keras.ops, 'soft' + 'max')(z)\n",
    "literal_getattr_private": "import keras\ndef softmax(z):\n    return getattr(keras.src.ops.nn, 'softmax')(z)\n",
    "getattr_alias": "import keras\ng = getattr\ndef softmax(z):\n    return g(keras.ops, 'softmax')(z)\n",
    "registry": "import keras\ndef softmax(z):\n    return keras.activations.get('softmax')(z)\n",
    "activation_layer": "import keras\ndef softmax(z):\n    return keras.layers.Activation('softmax')(z)\n",
    "dunder_import": "def softmax(z):\n    return __import__('keras').ops.softmax(z)\n",
    "sys_modules": "import sys\ndef softmax(z):\n    return sys.modules['keras.ops'].softmax(z)\n",
    "namespace_dict": "import keras\ndef softmax(z):\n    return keras.ops.__dict__.get('softmax')(z)\n",
    "module_as_value": "import keras\ndef softmax(z):\n    return [keras.ops][0].softmax(z)\n",
    "compat_v1": "import tensorflow as tf\ndef softmax(z):\n    return tf.compat.v1.nn.softmax(z)\n",
    "gc_objects": "import gc\ndef softmax(z):\n    return [f for f in gc.get_objects() if getattr(f, '__name__', '') == 'softmax'][0](z)\n",
    "pickled": "import pickle\nBLOB = b''\ndef softmax(z):\n    return pickle.loads(BLOB)(z)\n",
    "grader_reference": "import numpy as np\nfrom course.checks import _reference as r\n"
                        "def softmax(z):\n    return np.exp(r.log_softmax(z))\n",
    "walrus_in_default": "import keras\ndef _x(a=(sm := keras.src.ops.nn.softmax)):\n    pass\n"
                         "def softmax(z):\n    return sm(z)\n",
    "global_in_class_body": "import keras\nclass _C:\n    global sm\n    sm = keras.src.ops.nn.softmax\n"
                            "def softmax(z):\n    return sm(z)\n",
    "cross_entropy_raw_ops": "import tensorflow as tf\ndef cross_entropy(z, y):\n"
                             "    return tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits(features=z, labels=y)[0]\n",
    "cross_entropy_backend": "import keras\ndef cross_entropy(z, y):\n    return keras.src.backend.tensorflow.nn."
                             "sparse_categorical_crossentropy(y, z, from_logits=True)\n",
    "cross_entropy_metric_class": "import keras\ndef cross_entropy(z, y):\n    return keras.metrics."
                                  "SparseCategoricalCrossentropy(from_logits=True)(y, z)\n",
}

HONEST = {
    "numpy": "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max(1, keepdims=True))\n"
             "    return e / e.sum(1, keepdims=True)\n",
    "keras_ops": "import keras\ndef softmax(z):\n    e = keras.ops.exp(z - keras.ops.max(z, axis=1, keepdims=True))\n"
                 "    return keras.ops.convert_to_numpy(e / keras.ops.sum(e, axis=1, keepdims=True))\n",
    "literal_getattr": "import numpy as np\ndef softmax(z):\n    e = getattr(np, 'exp')(z - z.max(1, keepdims=True))\n"
                       "    return e / np.sum(e, axis=1, keepdims=True)\n",
    "handler_and_undefined_name": "import numpy as np\ndef softmax(z, table=None):\n    if table is not None:\n"
                                  "        z = x_test\n    try:\n        e = np.exp(z - z.max(1, keepdims=True))\n"
                                  "    except ValueError as err:\n        raise err\n"
                                  "    return e / e.sum(1, keepdims=True)\n",
    "star_numpy": "from numpy import *\ndef softmax(z):\n    e = exp(z - z.max(1, keepdims=True))\n"
                  "    return e / e.sum(1, keepdims=True)\n",
    "tf_tensor_ops": "import tensorflow as tf\ndef cross_entropy(z, y):\n    z = tf.convert_to_tensor(z)\n"
                     "    m = tf.reduce_max(z, axis=1, keepdims=True)\n"
                     "    lse = tf.math.log(tf.reduce_sum(tf.exp(z - m), axis=1)) + m[:, 0]\n"
                     "    return (lse - tf.gather(z, y, batch_dims=1)).numpy()\n",
}


def _violations(answer_source):
    """The own-work messages of stage 01's master with `answer_source` appended (it redefines the answer)."""
    name = "cross_entropy" if "def cross_entropy" in answer_source else "softmax"
    check = next(c for c in stage_checks(STAGE) if name in c.names)
    master = (config.SOLUTIONS / f"{STAGE}.py").read_text(encoding="utf-8")
    return own_work_violations(master + "\n\n# %%\n" + answer_source, check.names, check.forbidden,
                               allowed=check.allowed)


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_indirect_reach_is_refused(name):
    found = _violations(ESCAPES[name])
    assert found, name


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_answers_stay_clean(name):
    assert _violations(HONEST[name]) == []


@pytest.mark.parametrize("stage", ["00_setup_and_data", "01_classification", "02_adversarial_examples",
                                   "03_adversarial_training", "04_robust_features"])
def test_masters_have_no_violation(stage):
    """No false zero: every master answer of stages 00-04 is clean under the stricter reading."""
    master = config.SOLUTIONS / f"{stage}.py"
    for check in stage_checks(stage):
        assert own_work_violations(master, check.names, check.forbidden, allowed=check.allowed) == [], check.question


def test_reading_never_imports_a_module_the_notebook_names():
    """The grader's process reads the notebook: naming a module (`this` prints, `antigravity` opens a
    browser) must not import it there."""
    assert "this" not in sys.modules
    source = "import this\nfrom this import *\ndef softmax(z):\n    return this.s + d\n"
    _violations(source)
    assert "this" not in sys.modules
