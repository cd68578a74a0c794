from otter.test_files import test_case

OK_FORMAT = False

name = "q09_images_of"
points = 2

@test_case(points=None, hidden=False)
def test_images_of(images_of):
    import numpy as np
    images = np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1)
    labels = np.array([7, 4, 7, 7, 1, 7])
    out = images_of(images, labels, 'horse', 3)
    assert out is not None, 'images_of returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.ravel().tolist() == [0, 2, 3], f'Expected the first 3 horses (indices 0, 2, 3). Received {out.ravel().tolist()}.'
    assert np.asarray(images_of(images, labels, 'deer', 5)).shape == (1, 1, 1, 1), 'Return at most the images that exist.'
    try:
        images_of(images, labels, 'unicorn', 1)
    except ValueError as err:
        assert 'horse' in str(err), 'Name the valid classes in the error message.'
    else:
        raise AssertionError('An unknown class name should raise ValueError.')

