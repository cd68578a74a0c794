from otter.test_files import test_case

OK_FORMAT = False

name = "q08_edge_sketch"
points = 3

@test_case(points=None, hidden=False)
def test_sketch_of_a_step(edge_sketch):
    import numpy as np
    images = np.zeros((3, 32, 32, 3), np.float32)
    images[0] = np.repeat([0.0, 0.2, 0.4, 1.0], 8)[None, :, None]
    images[1] = 0.1 * images[0]
    images[2] = 0.3
    out = edge_sketch(images)
    assert out is not None, 'edge_sketch returned None: `return` the sketches.'
    out = np.asarray(out)
    assert out.shape == images.shape, f'Expected shape {images.shape}. Received {out.shape}.'
    assert np.all(np.isfinite(out)), 'The sketch has nan or inf: guard the division (add 1e-6 to the percentile).'
    assert not np.allclose(out[2], 0.0), 'A flat image gave a black sketch: a sketch is dark lines on white, 1 - (clipped edge strength), not the edge strength itself (inverted).'
    assert np.allclose(out[2], 1.0), 'A flat image has no edges: its sketch is all white (1.0).'
    assert out.min() >= 0 and out.max() <= 1, f'A sketch lives in [0, 1]; yours reaches {out.min():.3g}. Edges stronger than the 90th percentile give a ratio above 1: clip magnitude / percentile to [0, 1] before 1 - lines.'
    assert out[0, :, [7, 8, 15, 16, 23, 24]].max() < 0.5, 'The edges (columns 7/8, 15/16 and 23/24) should be dark.'
    assert np.allclose(out[0, :, 10:14], 1.0) and np.allclose(out[0, :, 26:], 1.0), 'Far from the edges the sketch is white.'
    pair = edge_sketch(images[:2])
    assert pair is not None, 'edge_sketch returned None: replace the `...` with your code and `return` the result.'
    pair = np.asarray(pair)
    assert np.allclose(pair[1], pair[0], atol=0.02), 'The same picture at a tenth of the contrast should give the same sketch: scale each image by its own 90th percentile (axis=(1, 2), per image), not by one percentile for the whole batch.'

