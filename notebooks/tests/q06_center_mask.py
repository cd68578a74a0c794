from otter.test_files import test_case

OK_FORMAT = False

name = "q06_center_mask"
points = 2

@test_case(points=None, hidden=False)
def test_center_mask(center_mask):
    import numpy as np
    m = center_mask(2, size=8, side=4)
    assert m is not None, 'center_mask returned None: replace the `...` with your code and `return` the result.'
    m = np.asarray(m)
    assert m.shape == (2, 8, 8, 1), f'Expected shape (2, 8, 8, 1). Received {m.shape}.'
    assert m.sum() == 2 * 16, f'Each mask holds side * side = 16 ones. Received {m.sum() / 2} per mask.'
    assert m[0, 2, 2, 0] == 1 and m[0, 5, 5, 0] == 1 and (m[0, 1, 2, 0] == 0) and (m[0, 6, 5, 0] == 0), 'The square should span rows and columns 2..5 for size 8, side 4.'

