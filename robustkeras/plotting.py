"""Labelled image grids (matplotlib), written atomically."""

import numpy as np

from robustkeras import _checks, _io


def _wrap(label, scale):
    """Break a label at spaces and arrows so it fits one cell (about 12 characters per inch at 8 pt)."""
    import textwrap

    text, width = str(label), max(6, int(12 * scale))
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text.replace("->", "-> "), width=width, break_long_words=False)) or text


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
    if isinstance(columns, np.ndarray) and columns.ndim == 5:
        columns = list(columns)
    if isinstance(columns, np.ndarray) or not isinstance(columns, (list, tuple)) or not columns:
        raise ValueError(f"Expected `columns` to be a non-empty list of image batches. Received: columns={_checks._fmt(columns)}")
    columns = [_checks.images(f"columns[{c}]", batch) for c, batch in enumerate(columns)]
    lengths = [len(batch) for batch in columns]
    if len(set(lengths)) != 1:
        raise ValueError(f"Expected every column of `columns` to hold the same number of images. Received: lengths {lengths}")
    for name, labels, count in (("column_titles", column_titles, len(columns)), ("row_labels", row_labels, lengths[0])):
        if labels is not None and len(labels) != count:
            raise ValueError(f"Expected `{name}` to hold {count} entries. Received: {len(labels)}")
    scale = _checks.number("scale", scale, low=0, low_open=True)
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
                ax.set_title(_wrap(column_titles[c], scale), fontsize=8)
            if c == 0 and row_labels is not None:
                ax.set_ylabel(_wrap(row_labels[r], scale), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if path is None:
        return fig
    try:
        with _io.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=80, format="png")
    finally:
        plt.close(fig)
    return path


def class_grid(images, classes, class_names, *, per_class, title=None, path=None):
    """Generated images as a grid: one column per class, `per_class` rows.

    Example:
        >>> class_grid(result.images, result.extras["target"], CLASSES, per_class=8, path="gen.png")
    """
    images = _checks.images("images", images)
    per_class = _checks.positive_int("per_class", per_class)
    classes = _checks.labels("classes", classes, n=len(images), num_classes=len(class_names))
    counts = np.bincount(classes, minlength=len(class_names))
    if np.any(counts != per_class):
        raise ValueError(f"Expected `per_class`={per_class} images of each of the {len(class_names)} classes in "
                         f"`classes`. Received: counts {counts.tolist()}")
    order = np.argsort(classes, kind="stable")
    images = images[order].reshape(len(class_names), per_class, *images.shape[1:])
    columns = [images[c] for c in range(len(class_names))]
    return image_grid(columns, column_titles=list(class_names), title=title, path=path)
