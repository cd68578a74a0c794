from otter.test_files import test_case

OK_FORMAT = False

name = "q00_to_unit_range"
points = 2

@test_case(points=None, hidden=False)
def test_known_values(to_unit_range):
    import numpy as np
    assert callable(to_unit_range), 'Define a function `to_unit_range(images)`.'
    out = to_unit_range(np.array([[0, 51, 255]], np.uint8))
    assert out is not None, 'to_unit_range returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.dtype == np.float32, f'Expected float32 output. Received dtype {out.dtype}: divide a float copy.'
    assert out.shape == (1, 3), f"Expected the input's shape (1, 3). Received {out.shape}."
    assert np.allclose(out, [[0.0, 0.2, 1.0]]), f'Expected 0 -> 0, 51 -> 0.2, 255 -> 1. Received {out}.'

