"""Data-parallel training and evaluation on simulated devices, no hardware needed.

JAX gets 4 host devices (`XLA_FLAGS=--xla_force_host_platform_device_count=4`),
TensorFlow 2 logical CPUs, each in a subprocess (device counts are fixed when a
backend starts). One subprocess per backend runs everything: 3 training steps on
1 and on N devices from the same weights and global batches, the sharded
robust accuracy against `evaluate.robust_accuracy`, and a checkpoint written on
N devices resumed on 1. Multi-host: 2 JAX processes on the loopback.

Tolerances (measured on this 2-core CPU, fastnet widths (8, 8, 16, 16), SGD 0.05
with momentum, PGD-2 training attack, 3 steps of global batch 32): TensorFlow on
2 logical CPUs gave the 1-device running losses bit for bit (each replica draws
its rows of the global batch's random start); JAX on 4 host devices equalled the
first loss to 2e-7 and differed by at most 1.2e-3 relative by the third (summation order).
We allow 5e-3 (1e-4 for the first step). Evaluation: equal.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

_CHILD = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    from robustkeras import distribute
    N, tmp = int(sys.argv[1]), sys.argv[2]
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        distribute.simulate_cpu_devices(N)  # before TensorFlow starts
    import keras
    from robustkeras.data import load_sample
    from robustkeras.evaluate import robust_accuracy
    from robustkeras.models import get_model
    from robustkeras.training import AdversarialTrainer, train

    x, y = load_sample(96)
    y = y.astype("int32")
    keras.utils.set_random_seed(0)
    init = get_model("fastnet", widths=(8, 8, 16, 16)).get_weights()

    def three_steps(n):
        with distribute.data_parallel(n) as dp:
            model = dp.prepare(get_model("fastnet", widths=(8, 8, 16, 16)))
            model.set_weights(init)
            trainer = AdversarialTrainer(model, norm="l2", eps=0.5, steps=2, seed=3)
            trainer.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
            losses = []
            record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: losses.append(float(logs["loss"])))
            trainer.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[record])
            return losses, model

    one, model = three_steps(1)
    many, _ = three_steps(N)
    ev = dict(norm="l2", eps=0.5, steps=3, batch_size=20, seed=1)
    single = robust_accuracy(model, x[:50], y[:50], **ev)
    sharded = robust_accuracy(model, x[:50], y[:50], devices=N, **ev)

    # A checkpoint written on N devices resumes on 1.
    rng = np.random.default_rng(0)
    folder = tmp + "/data/cifar-10-batches-bin"
    import os
    os.makedirs(folder)
    for name, count in [(f"data_batch_{i}.bin", 16) for i in range(1, 6)] + [("test_batch.bin", 4)]:
        rec = np.concatenate([rng.integers(0, 10, (count, 1)), rng.integers(0, 256, (count, 3072))], 1)
        rec.astype(np.uint8).tofile(f"{folder}/{name}")
    common = dict(arch="fastnet", arch_kwargs={"widths": [8, 8, 16, 16]}, epochs=2, batch_size=32, holdout=0,
                  data_path=tmp + "/data", steps=1, seed=5, verbose=0)
    train(**common, out_dir=tmp + "/moved", devices=N, stop_after=1)
    first_epoch = json.loads(open(tmp + "/moved/log.jsonl").readline())
    after_one = get_model("fastnet", widths=(8, 8, 16, 16))
    after_one.load_weights(tmp + "/moved/checkpoint/" + json.load(open(tmp + "/moved/checkpoint/state.json"))["files"]["weights"])
    train(**common, out_dir=tmp + "/moved", devices=1)
    final = get_model("fastnet", widths=(8, 8, 16, 16))
    final.load_weights(tmp + "/moved/final.weights.h5")
    # The resumed epoch moved the weights on from the N-device checkpoint (it was loaded, not restarted).
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(after_one.get_weights(), final.get_weights()))
    log = [json.loads(l) for l in open(tmp + "/moved/log.jsonl")]
    print(json.dumps({"backend": keras.backend.backend(), "replicas": N, "one": one, "many": many,
                      "single": single, "sharded": sharded, "resume_gap": gap, "epochs_logged": len(log),
                      "kept_first_epoch": log[0] == first_epoch}))
""")


def _run_child(backend, devices, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    out = subprocess.run([sys.executable, str(script), str(devices), str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    return result


@pytest.mark.parametrize("backend,devices", [("jax", 4), ("tensorflow", 2)])
def test_n_devices_match_one_device(backend, devices, tmp_path):
    if backend == "jax":
        pytest.importorskip("jax", reason="JAX not installed (pip install -e '.[jax]')")
    r = _run_child(backend, devices, tmp_path)
    assert len(r["one"]) == len(r["many"]) == 3
    for a, b in zip(r["one"], r["many"]):
        assert b == pytest.approx(a, rel=5e-3), (r["one"], r["many"])
    # Under tf.distribute the reported loss is the global mean, not 1/replicas of it (it halved before).
    assert r["many"][0] == pytest.approx(r["one"][0], rel=1e-4)
    sharded = dict(r["sharded"])
    assert sharded.pop("devices") == devices
    assert sharded == r["single"]
    assert r["epochs_logged"] == 2 and r["kept_first_epoch"]  # resumed, not restarted
    assert 0 < r["resume_gap"] < 1.0, r["resume_gap"]


_HOST = textwrap.dedent("""
    import json, sys
    pid, port = int(sys.argv[1]), sys.argv[2]
    from robustkeras import distribute
    distribute.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid)
    import keras
    from robustkeras.data import load_sample
    from robustkeras.models import get_model
    from robustkeras.training import AdversarialTrainer
    x, y = load_sample(64)
    y = y.astype("int32")
    with distribute.data_parallel("all") as dp:
        keras.utils.set_random_seed(0)
        model = get_model("fastnet", widths=(8, 8, 16, 16))
        trainer = AdversarialTrainer(model, norm="l2", eps=0.5, steps=1, seed=3)
        trainer.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
        batches = [(x[i:i + 32], y[i:i + 32]) for i in (0, 32)]
        local = ((distribute.local_shard(a), distribute.local_shard(b)) for a, b in batches)
        loss = trainer.fit(local, steps_per_epoch=2, epochs=1, verbose=0).history["loss"][-1]
    print(json.dumps({"process": distribute.process_index(), "processes": distribute.process_count(),
                      "replicas": dp.replicas, "loss": loss}))
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_jax_processes_on_the_loopback(tmp_path):
    pytest.importorskip("jax", reason="JAX not installed (pip install -e '.[jax]')")
    script = tmp_path / "host.py"
    script.write_text(_HOST)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("XLA_FLAGS", None)
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, str(script), str(i), port], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=420)  # both must finish by themselves
            assert p.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sorted(r["process"] for r in results) == [0, 1]
    assert all(r["processes"] == 2 and r["replicas"] == 2 for r in results)
    assert results[0]["loss"] == pytest.approx(results[1]["loss"], rel=1e-6)


def test_clear_errors_for_devices_and_batch(tmp_path, capsys):
    from robustkeras import cli, distribute
    from robustkeras.training import train

    with pytest.raises(ValueError, match=r"`devices` <= .*Received: devices=99.*Hint"):
        distribute.resolve_devices(99)
    with pytest.raises(ValueError, match=r"`batch_size` to be a multiple of the 4 devices"):
        distribute.check_batch_size(30, 4)
    assert cli.main(["train", "--out", str(tmp_path / "run"), "--devices", "two"]) == 2
    assert "`--devices`" in capsys.readouterr().err  # CLI errors name the flag typed
    with pytest.raises(ValueError, match="`dataset`"):
        train("fastnet_small", out_dir=tmp_path / "run", dataset="imagenet")


def test_sharded_robust_accuracy_checks_the_model_like_evaluate():
    """One device, in process: the same numbers as `evaluate.robust_accuracy`, also for a softmax model."""
    import keras

    from robustkeras import distribute, evaluate
    from robustkeras.data import load_sample

    x, y = load_sample(16)
    keras.utils.set_random_seed(0)
    logits = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    soft = keras.Sequential([logits, keras.layers.Softmax()])
    want = evaluate.robust_accuracy(logits, x, y, norm="l2", eps=0.5, steps=3, batch_size=8)
    got = evaluate.robust_accuracy(soft, x, y, devices=1, norm="l2", eps=0.5, steps=3, batch_size=8)
    assert (got["clean"], got["robust"]) == (want["clean"], want["robust"])
    with pytest.raises(ValueError, match="`x`"):
        evaluate.robust_accuracy(logits, x[:, :16, :16], y, devices=1, norm="l2", eps=0.5, steps=1)
