"""Course settings, in one place.

`REPOSITORY` is the single source Colab installs robustkeras (and this course's
public tests) from; the Colab badge links are derived from it too. Change it
here, run `python course/build.py`, and commit `notebooks/`.
"""

from pathlib import Path

# GitHub "owner/name" of the robustkeras repository and the branch the notebooks track:
# the one place to set them. The Colab badges, the notebooks' setup cells and the
# Gradescope requirements all point here. `PLACEHOLDER_REPOSITORY` is the default nobody
# chose (it may not exist): local and offline builds accept it, `build.py --release` refuses it.
PLACEHOLDER_REPOSITORY = "robustkeras/robustkeras"
REPOSITORY = PLACEHOLDER_REPOSITORY
BRANCH = "main"

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"          # master notebooks (jupytext percent, otter-assign format)
NOTEBOOKS = ROOT / "notebooks"          # student notebooks (generated, committed)
PUBLIC_TESTS = NOTEBOOKS / "tests"      # public test files (generated, committed; Colab copies them)
DIST = ROOT / "dist"                    # autograder zips and solution notebooks (generated, ignored)

# Grading mode: the environment variable (local runs, the build) or the marker file
# (shipped inside every autograder zip, so Gradescope and `otter run` see it).
GRADING_ENV = "ROBUSTKERAS_GRADING"
GRADING_MARKER = "ROBUSTKERAS_GRADING"

# Limits for grading one notebook (course/grade.py).
TIME_LIMIT_S = 600
QUESTION_TIME_LIMIT_S = 120  # one question's probe; a slower one scores zero, the next ones still run
MEMORY_LIMIT_MB = 6000


def repo_url():
    """The git URL Colab clones."""
    return f"https://github.com/{REPOSITORY}"


def colab_url(stem):
    """The Colab link that opens `notebooks/<stem>.ipynb` from GitHub."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{stem}.ipynb"


def stages():
    """Master notebooks `solutions/NN_topic.py`, in order."""
    return sorted(p for p in SOLUTIONS.glob("[0-9][0-9]_*.py"))
