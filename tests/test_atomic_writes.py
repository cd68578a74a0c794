"""A failure (or a kill) in the middle of writing a result never leaves a partial file (issue 9, part 2)."""

import json

import numpy as np
import pytest

from robustkeras import _io, plotting
from robustkeras.data import load_sample


class Boom(RuntimeError):
    pass


def _half_write_then_fail(path, *args, **kwargs):
    with open(path, "wb") as f:
        f.write(b"\x89PNG half a file")
    raise Boom("killed mid-write")


def _savefig_half_then_fail(figure, path, *args, **kwargs):
    _half_write_then_fail(path)


def test_failed_grid_leaves_no_file(tmp_path, monkeypatch):
    import matplotlib.figure

    x, _ = load_sample(2)
    target = tmp_path / "grids" / "grid.png"
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _savefig_half_then_fail)
    with pytest.raises(Boom):
        plotting.image_grid([x, x], column_titles=["a", "b"], path=target)
    assert list(target.parent.iterdir()) == []  # neither grid.png nor a temporary file


def test_failed_rewrite_keeps_the_previous_file(tmp_path, monkeypatch):
    import matplotlib.figure

    x, _ = load_sample(2)
    target = tmp_path / "grid.png"
    plotting.image_grid([x], path=target)
    before = target.read_bytes()
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _savefig_half_then_fail)
    with pytest.raises(Boom):
        plotting.image_grid([x], path=target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_atomic_path_and_write_text(tmp_path):
    target = tmp_path / "metrics.json"
    _io.write_text(target, json.dumps({"ok": 1}))
    with pytest.raises(Boom):
        with _io.atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write('{"half":')
            raise Boom("killed")
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_failed_checkpoint_leaves_the_previous_one(tmp_path, monkeypatch, tiny_model):
    """A kill after the new weights but before the new optimizer state still resumes the old epoch consistently."""
    import keras

    from robustkeras.training import fit

    optimizer = keras.optimizers.SGD()
    optimizer.build(tiny_model.trainable_variables)
    folder = tmp_path / "checkpoint"
    fit._save_checkpoint(folder, tiny_model, optimizer, {"epoch": 1, "history": [], "best": None})
    saved = {p.name: p.read_bytes() for p in folder.iterdir()}
    before = [np.asarray(v).copy() for v in tiny_model.weights]

    tiny_model.weights[0].assign(tiny_model.weights[0] + 1.0)  # "epoch 2" changed the weights
    monkeypatch.setattr(np, "savez", _half_write_then_fail)
    with pytest.raises(Boom):
        fit._save_checkpoint(folder, tiny_model, optimizer, {"epoch": 2, "history": [], "best": None})
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name in saved} == saved
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], "no temporary files left"

    state = fit._load_checkpoint(folder, tiny_model, optimizer)
    assert state["epoch"] == 1
    for var, value in zip(tiny_model.weights, before):
        np.testing.assert_array_equal(np.asarray(var), value)
