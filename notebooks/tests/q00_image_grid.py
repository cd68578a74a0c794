from otter.test_files import test_case

OK_FORMAT = False

name = "q00_image_grid"
points = 2

@test_case(points=None, hidden=False)
def test_shape_and_placement(image_grid):
    import numpy as np
    images = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1) * np.ones((5, 2, 3, 1), np.float32)
    grid = image_grid(images, 2)
    assert grid is not None, 'image_grid returned None: replace the `...` with your code and `return` the result.'
    grid = np.asarray(grid)
    assert grid.shape == (6, 6, 1), f'5 images in 2 columns: 3 rows of 2x3 tiles, shape (6, 6, 1). Received {grid.shape}.'
    assert grid[0, 3, 0] == 1 and grid[2, 0, 0] == 2, 'Image k goes to row k // ncols, column k % ncols.'
    assert grid[4, 3, 0] == 0, 'The unused last tile should stay 0.'

