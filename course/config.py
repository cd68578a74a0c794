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


# The library's API reference: the docs site the release builds from docs/ (mkdocstrings pages,
# one anchor per dotted name). Every stage's reading list links into it through this one base
# URL: change it here, run `python course/build.py`, and commit `notebooks/`.
API_DOCS_URL = "https://robustkeras.github.io/robustkeras/api/"

PAPER = "https://arxiv.org/abs/1906.09453"      # Santurkar et al. 2019, the course's paper
MADRY = "https://arxiv.org/abs/1706.06083"      # Madry et al. 2018, PGD and adversarial training
CROCE_HEIN = "https://arxiv.org/abs/2003.01690"  # Croce & Hein 2020, AutoAttack, APGD and DLR
KOLTER_MADRY = "https://adversarial-ml-tutorial.org/"
KERAS = {
    "fit": ("Keras guide: training & evaluation with the built-in methods",
            "https://keras.io/guides/training_with_built_in_methods/"),
    "train_step": ("Keras guide: customizing what happens in `fit()` (TensorFlow)",
                   "https://keras.io/guides/custom_train_step_in_tensorflow/"),
    "tape": ("TensorFlow guide: automatic differentiation with `tf.GradientTape`",
             "https://www.tensorflow.org/guide/autodiff"),
    "functional": ("Keras guide: the functional API", "https://keras.io/guides/functional_api/"),
    "ops": ("Keras API: `keras.ops`", "https://keras.io/api/ops/"),
}

# Per stage: (paper sections, other papers, Keras guides, library names for the API reference).
READING = {
    "00": ("section 2 (robust classifiers)", (), ("fit",), ("robustkeras.data.load_sample", "robustkeras.plotting.image_grid")),
    "01": ("section 2", (), ("fit", "functional"), ("robustkeras.models.get_model",)),
    "02": ("section 2 (the robust models' threat model)", (MADRY, KOLTER_MADRY), ("tape",),
           ("robustkeras.attacks.pgd", "robustkeras.attacks.fgsm")),
    "03": ("section 2", (MADRY, CROCE_HEIN, KOLTER_MADRY), ("train_step", "tape"),
           ("robustkeras.training.AdversarialTrainer", "robustkeras.evaluate.autoattack", "robustkeras.attacks.dlr")),
    "04": ("section 2 (perceptually aligned gradients)", (MADRY,), ("tape",), ("robustkeras.attacks.L2Step",)),
    "05": ("section 3.1 (generation)", (), ("ops",), ("robustkeras.synthesis.optimize", "robustkeras.metrics.judge_accuracy")),
    "06": ("section 3.2 (inpainting)", (), ("ops",), ("robustkeras.synthesis.inpaint", "robustkeras.synthesis.optimize")),
    "07": ("section 3.4 (super-resolution)", (), ("ops",), ("robustkeras.synthesis.optimize",)),
    "08": ("section 3.5 (interactive manipulation: sketch-to-image)", (), ("ops",),
           ("robustkeras.synthesis.sketch_to_image", "robustkeras.synthesis.strokes_to_sketch")),
    "09": ("section 3.3 (image-to-image translation)", (), ("ops",), ("robustkeras.synthesis.translate",)),
    "10": ("section 3.5 (interactive manipulation: paint-with-features)", (), ("ops", "functional"),
           ("robustkeras.synthesis.feature_model", "robustkeras.synthesis.FeaturePainter")),
}
_NAMES = {MADRY: "Madry et al. 2018, *Towards deep learning models resistant to adversarial attacks*",
          CROCE_HEIN: "Croce & Hein 2020, *Reliable evaluation of adversarial robustness with an ensemble of "
                      "diverse parameter-free attacks* (AutoAttack)",
          KOLTER_MADRY: "Kolter & Madry, *Adversarial robustness: theory and practice* (tutorial)"}


API_PAGES = ROOT / "docs" / "api"     # the API reference's sources: one page per group of modules


def _api_page(module):
    """The docs/api page (its stem) whose `::: robustkeras.<module>` directive renders `module`."""
    for page in sorted(API_PAGES.glob("*.md")):
        if f"\n::: robustkeras.{module}\n" in "\n" + page.read_text(encoding="utf-8") + "\n":
            return page.stem
    raise ValueError(f"Expected a docs/api page with `::: robustkeras.{module}`. Received: none in {API_PAGES}")


def api_url(name):
    """The API reference's address of a library name such as `robustkeras.attacks.pgd`.

    mkdocstrings puts each module on its own page (`api/<page>/`) and anchors each object by its
    dotted path; a function that a submodule of the same name shadows (`attacks.pgd`) is rendered
    from that submodule, so its anchor is `robustkeras.attacks.pgd.pgd`.

    Example:
        >>> api_url("robustkeras.attacks.pgd").removeprefix(API_DOCS_URL)
        'attacks/#robustkeras.attacks.pgd.pgd'
    """
    parts = name.split(".")
    anchor = name
    if (ROOT.joinpath(*parts[:-1]) / f"{parts[-1]}.py").is_file():  # shadowed by its own submodule
        anchor = f"{name}.{parts[-1]}"
    return f"{API_DOCS_URL}{_api_page(parts[1])}/#{anchor}"


def reading_list(stem):
    """The markdown of a stage's reading list (the build puts it under the stage's title)."""
    sections, papers, guides, names = READING[stem[:2]]
    lines = ["**Read along.**", "",
             f"* The paper: Santurkar et al. 2019, [*Image synthesis with a single (robust) classifier*]({PAPER}), "
             f"{sections}."]
    lines += [f"* [{_NAMES[url]}]({url})." for url in papers]
    lines += [f"* [{KERAS[key][0]}]({KERAS[key][1]})." for key in guides]
    lines.append("* The library's API reference: " + ", ".join(f"[`{n.removeprefix('robustkeras.')}`]({api_url(n)})"
                                                              for n in names) + ".")
    return "\n".join(lines)
