from otter.test_files import test_case

OK_FORMAT = False

name = "q08_edge_sketch"
points = 3

@test_case(points=None, hidden=False)
def test_sketch_of_a_step(edge_sketch):
    import numpy as np
    images = np.zeros((2, 16, 16, 3), np.float32)
    images[0, :, 8:] = 1.0
    images[1] = 0.3
    out = np.asarray(edge_sketch(images))
    assert out.shape == (2, 16, 16, 3), f'Expected shape (2, 16, 16, 3). Received {out.shape}.'
    assert out.min() >= 0 and out.max() <= 1, 'A sketch lives in [0, 1].'
    assert np.allclose(out[1], 1.0), 'A flat image has no edges: its sketch is all white (1.0). Did you guard the division?'
    assert out[0, 5, 7].max() < 0.5 and out[0, 5, 8].max() < 0.5, 'The edge between columns 7 and 8 should be dark.'
    assert np.allclose(out[0, :, :6], 1.0) and np.allclose(out[0, :, 10:], 1.0), 'Far from the edge the sketch is white.'

