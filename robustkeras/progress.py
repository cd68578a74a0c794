"""Progress bars that degrade to nothing when tqdm is absent or output is not wanted."""


def progress(iterable, *, desc=None, total=None, enable=True):
    """Wrap `iterable` in a tqdm bar (if installed and `enable`), else return it unchanged."""
    if not enable:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False, dynamic_ncols=True)
