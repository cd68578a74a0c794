"""`robustkeras demo`: a local page with one tab per synthesis task (needs `pip install "robustkeras[demo]"`).

Example:
    >>> from robustkeras.demo import launch
    >>> app = launch(block=False)  # in a notebook the page opens inline
"""

from robustkeras.demo.models import DEFAULT_MODEL, robust_names
from robustkeras.demo.server import launch

__all__ = ["launch", "robust_names", "DEFAULT_MODEL"]
