from otter.test_files import test_case

OK_FORMAT = False

name = "q00_class_counts"
points = 2

@test_case(points=None, hidden=False)
def test_small_case(class_counts):
    import numpy as np
    out = class_counts(np.array([3, 3, 0, 9]))
    assert out is not None, 'class_counts returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == (10,), f'Expected one count per class, shape (10,). Received {out.shape}: use `minlength`.'
    assert out.tolist() == [1, 0, 0, 2, 0, 0, 0, 0, 0, 1], f'Wrong counts: {out.tolist()}.'

