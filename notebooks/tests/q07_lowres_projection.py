from otter.test_files import test_case

OK_FORMAT = False

name = "q07_lowres_projection"
points = 3

@test_case(points=None, hidden=False)
def test_projection_is_consistent(lowres_projection):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((2, 8, 8, 3)).astype(np.float32)
    lowres = rng.random((2, 2, 2, 3)).astype(np.float32)
    out = lowres_projection({'lowres': lowres}, x)
    assert out is not None, 'lowres_projection returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == x.shape, f'Expected shape {x.shape}. Received {out.shape}.'
    pooled = out.reshape(2, 2, 4, 2, 4, 3).mean(axis=(2, 4))
    assert np.allclose(pooled, lowres, atol=1e-05), 'After the projection every 4x4 block must average to its low-res pixel.'
    detail = (out - x).reshape(2, 2, 4, 2, 4, 3)
    assert np.allclose(detail, detail[:, :, :1, :, :1], atol=1e-05), 'Shift all pixels of a block by the same amount (keep the detail).'
    again = np.asarray(lowres_projection({'lowres': lowres}, out))
    assert np.allclose(again, out, atol=1e-05), 'A projection must not move an image that is already consistent.'

