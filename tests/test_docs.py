"""The release's text: README and docs blocks all run or say why not, the API reference covers every
public name, the dependency bounds hold the tested versions, and the files a user cites exist."""

import configparser
import importlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import robustkeras
from robustkeras import cli

ROOT = Path(__file__).resolve().parent.parent


def _doc_blocks():
    spec = importlib.util.spec_from_file_location("doc_blocks", ROOT / "scripts" / "doc_blocks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_opens_with_the_two_commands_and_ci_runs_the_same_test_command():
    first = _doc_blocks().extract(ROOT / "README.md")[0].code.splitlines()
    assert first[0].startswith("pip install -e . && robustkeras tour")
    assert first[1].startswith('pip install -e ".[dev]" && python -m pytest -q')
    test_command = first[1].split("#")[0].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_every_block_runs_or_says_why_not(capsys, tmp_path):
    """What CI's `doc_blocks.py run` would skip, listed; a skip without a reason cannot be written."""
    blocks = _doc_blocks()
    skipped = blocks.report([ROOT / "README.md", ROOT / "docs"])
    listing = capsys.readouterr().out
    with capsys.disabled():
        print(f"\n{len(skipped)} documentation blocks skipped in CI, with their reasons:")
        print("\n".join(line for line in listing.splitlines() if "skipped" in line))
    runs = [line for line in listing.splitlines() if line.endswith(" runs")]
    assert any(line.startswith(str(ROOT / "README.md")) and "[python]" in line for line in runs)
    assert all(len(b.skip) > 10 for b in skipped)  # a reason, not a bare marker
    page = tmp_path / "probe.md"  # not in docs/: a test writes nothing into the working tree
    page.write_text('<!-- docs-test: skip reason="needs a GPU" -->\n```bash\nnvidia-smi\n```\n\n'
                    '```python\nprint(1)\n```\n\n```yaml\na: 1\n```\n')
    found = blocks.extract(page)
    assert [(b.kind, b.skip) for b in found] == [("shell", "needs a GPU"), ("python", ""), (None, "")]


def test_no_user_facing_text_points_into_this_repositorys_surroundings():
    from robustkeras import data

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        assert "../shared" not in page.read_text(), page
    assert "shared" not in data.how_to_provide() and data.CIFAR10_URL in data.how_to_provide()


def _api_directives():
    text = "\n".join(p.read_text() for p in sorted((ROOT / "docs" / "api").glob("*.md")))
    return set(re.findall(r"^::: ([\w.]+)", text, re.MULTILINE))


@pytest.mark.parametrize("module", ["attacks", "synthesis", "models", "training", "pretrained", "evaluate",
                                    "distribute", "data", "metrics", "imageops", "plotting"])
def test_api_reference_renders_every_public_name(module):
    """A package's names are rendered from its page's `::: robustkeras.NAME`, except a name that a
    submodule of the same name shadows (`attacks.pgd`), which needs a directive of its own."""
    directives = _api_directives()
    name = f"robustkeras.{module}"
    assert name in directives
    mod = importlib.import_module(name)
    public = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    for attr in public:
        value = getattr(mod, attr)
        shadowed = importlib.util.find_spec(f"{name}.{attr}") if hasattr(mod, "__path__") else None
        has_doc = callable(value) and getattr(value, "__doc__", None)
        if shadowed or (attr in getattr(mod, "__all__", ()) and not has_doc and not callable(value)):
            assert any(d.endswith(f".{attr}") and d.startswith(name) for d in directives), f"{name}.{attr}"


def _anchors_from_sources(page):
    """The anchors mkdocstrings gives a docs/api page: each directive's path, and a module's public members."""
    anchors = set()
    for path in re.findall(r"^::: ([\w.]+)", page.read_text(), re.MULTILINE):
        anchors.add(path)
        try:
            mod = importlib.import_module(path)
        except ImportError:
            continue
        for attr in getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]:
            if not (hasattr(mod, "__path__") and importlib.util.find_spec(f"{path}.{attr}")):  # not shadowed
                anchors.add(f"{path}.{attr}")
    return anchors


def test_course_reading_links_land_on_an_anchor_of_the_api_reference():
    """Every name in course/config.py READING links to `api/<page>/#<anchor>`: the page exists in docs/api
    and renders that anchor (in the built site too, when `site/` was built: `mkdocs build`)."""
    import sys

    sys.path.insert(0, str(ROOT))
    from course import config

    names = sorted({n for entry in config.READING.values() for n in entry[3]})
    assert names
    for name in names:
        url = config.api_url(name)
        assert url.startswith(config.API_DOCS_URL), url
        page, anchor = url.removeprefix(config.API_DOCS_URL).split("/#")
        source = ROOT / "docs" / "api" / f"{page}.md"
        assert source.is_file(), (name, url)
        assert anchor in _anchors_from_sources(source), (name, url)
        built = ROOT / "site" / "api" / page / "index.html"
        if built.is_file():
            assert f'id="{anchor}"' in built.read_text(), (name, url)
    shadowed = config.api_url("robustkeras.attacks.pgd").removeprefix(config.API_DOCS_URL)
    assert shadowed == "attacks/#robustkeras.attacks.pgd.pgd"  # the function, not its module


def test_mkdocs_nav_lists_every_page_written():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))

    def walk(items):
        for item in items:
            for value in (item.values() if isinstance(item, dict) else [item]):
                yield from (walk(value) if isinstance(value, list) else [value])

    nav = set(walk(config["nav"]))
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert pages <= nav, pages - nav


def _setup():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def _requirements(text):
    return [Requirement(line) for line in text.strip().splitlines() if line.strip() and not line.startswith("#")]


def test_dependencies_are_bounded_and_the_tested_versions_satisfy_them():
    setup = _setup()
    core = {r.name.lower(): r for r in _requirements(setup["options"]["install_requires"])}
    assert "jupytext" not in core  # the library never imports it: only the course's extras
    for name in ("keras", "tensorflow", "numpy", "tensorflow-datasets"):
        ops = {spec.operator for spec in core[name].specifier}
        assert {">=", "<"} <= ops, f"{name} needs a lower and an upper bound: {core[name]}"
    assert core["tensorflow"].marker is None  # TF 2.21 ships for Linux, macOS arm64 and Windows
    assert "importlib-resources" in core or "importlib_resources" in core
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    for name, requirement in core.items():
        key = name.replace("_", "-")
        if key in pins:
            assert requirement.specifier.contains(pins[key]), f"constraints.txt {key}=={pins[key]} vs {requirement}"
    extras = setup["options.extras_require"]
    assert "jupytext" in extras["grading"] and "jupytext" in extras["dev"]


def test_version_flag_and_citation_files(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"robustkeras {robustkeras.__version__}"
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == robustkeras.__version__ and citation["license"] == "MIT"
    assert any("Santurkar" in str(ref["authors"]) for ref in citation["references"])
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()


def test_blocks_ci_runs_contact_no_host_and_start_no_server():
    """A block that runs in CI (from the wheel, offline but for package registries) downloads nothing,
    submits no cluster job and starts no server that waits forever: such a block says why it is skipped."""
    blocks = _doc_blocks()
    forbidden = re.compile(r"\b(curl|wget|huggingface-cli|sbatch|srun|kubectl)\b|https?://|robustkeras demo\b|"
                           r"launch\(|pip install \"?robustkeras")
    for page in blocks.pages([ROOT / "README.md", ROOT / "docs"]):
        for block in blocks.extract(page):
            if block.kind and not block.skip:
                assert not forbidden.search(block.code), (block.where(), forbidden.search(block.code).group(0))
