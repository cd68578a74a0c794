from otter.test_files import test_case

OK_FORMAT = False

name = "q07_downsample"
points = 2

@test_case(points=None, hidden=False)
def test_block_means(downsample):
    import numpy as np
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = downsample(img, 2)
    assert out is not None, 'downsample returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == (1, 2, 2, 1), f'Expected shape (1, 2, 2, 1). Received {out.shape}.'
    assert np.allclose(out.ravel(), [2.5, 4.5, 10.5, 12.5]), f'Each output pixel is the mean of a 2x2 block. Received {out.ravel()}.'

