"""`otter run` with a per-cell time limit.

    python course/otter_run.py CELL_SECONDS [otter run arguments ...]

otter executes a submission with nbconvert's ExecutePreprocessor and no cell time
limit. Here every cell gets CELL_SECONDS: a cell still running then is interrupted
(the kernel sees KeyboardInterrupt), and, as otter runs with errors allowed, the
next cells go on -- one endless loop costs that cell, not the notebook. A cell that
ignores the interrupt is left to the grader's per-notebook limit.

Example:
    python course/otter_run.py 180 -a dist/00_setup_and_data-autograder.zip -o out sub.ipynb
"""

import sys


def limit_cells(seconds):
    """Make every ExecutePreprocessor created from now on interrupt cells after `seconds`."""
    import nbconvert.preprocessors as preprocessors
    from traitlets import Bool, Integer

    class CellLimitedExecutePreprocessor(preprocessors.ExecutePreprocessor):
        timeout = Integer(int(seconds), allow_none=True).tag(config=True)
        interrupt_on_timeout = Bool(True).tag(config=True)

    # otter imports the class from this module when it grades, so the subclass is what it gets.
    preprocessors.ExecutePreprocessor = CellLimitedExecutePreprocessor
    return CellLimitedExecutePreprocessor


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit("usage: otter_run.py CELL_SECONDS [otter run arguments ...]")
    try:
        seconds = float(argv[0])
    except ValueError:
        raise SystemExit(f"CELL_SECONDS: expected a number of seconds > 0, got {argv[0]!r}") from None
    if seconds <= 0:
        raise SystemExit(f"CELL_SECONDS: expected a number of seconds > 0, got {argv[0]!r}")
    limit_cells(seconds)
    from otter.cli import cli

    return cli.main(args=["run", *argv[1:]], prog_name="otter")


if __name__ == "__main__":
    sys.exit(main())
