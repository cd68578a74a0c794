"""A griffe extension for the API reference: read the docstrings' `Example:` sections as `Examples:`.

The project's docstrings (Keras style) head their doctest with `Example:`; griffe's Google parser
knows only `Examples:`, and would render the `>>>` lines as prose. Loaded by mkdocs.yml.
"""

import re

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename each docstring's `Example:` heading to `Examples:` before it is parsed."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = _HEADING.sub(r"\1Examples:", obj.docstring.value)
