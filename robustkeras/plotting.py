"""Labelled image grids (matplotlib), written atomically."""

import numpy as np

from robustkeras import _io


def image_grid(columns, *, column_titles=None, row_labels=None, title=None, path=None, scale=1.1):
    """Draw a grid whose columns are image batches of equal length.

    Args:
        columns: list of float arrays `(N, H, W, 3)` in [0, 1] (H may differ: shown pixelated).
        column_titles: one title per column.
        row_labels: one label per row.
        title: figure title.
        path: write a PNG here (atomically) and close the figure; else return it.
        scale: inches per cell.

    Returns:
        The matplotlib figure, or `path` if given.

    Example:
        >>> image_grid([x, x_adv], column_titles=["clean", "adversarial"], path="adv.png")
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(columns[0]), len(columns)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * scale + 0.6, rows * scale + 0.5), squeeze=False)
    for c, batch in enumerate(columns):
        for r in range(rows):
            ax = axes[r, c]
            ax.imshow(np.clip(batch[r], 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 and column_titles is not None:
                ax.set_title(column_titles[c], fontsize=8)
            if c == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[r], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if path is None:
        return fig
    with _io.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return path


def class_grid(images, classes, class_names, *, per_class, title=None, path=None):
    """Generated images as a grid: one column per class, `per_class` rows.

    Example:
        >>> class_grid(result.images, result.extras["target"], CLASSES, per_class=8, path="gen.png")
    """
    order = np.argsort(classes, kind="stable")
    images = images[order].reshape(len(class_names), per_class, *images.shape[1:])
    columns = [images[c] for c in range(len(class_names))]
    return image_grid(columns, column_titles=list(class_names), title=title, path=path)
