"""Shortcut: the library's plotting helper (a figure, not the grid)."""
QUESTION = "q00_image_grid"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

from robustkeras.plotting import image_grid as show_grid

def image_grid(images, ncols):
    return show_grid(images)
