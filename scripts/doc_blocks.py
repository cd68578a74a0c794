"""Run every code block of the README and the documentation pages as a reader would: from a folder outside the repository.

The Python blocks (```python) of all pages run in one fresh interpreter, in page order, like one
long notebook (each page's blocks import what they use; one interpreter pays TensorFlow's import
once); then each shell block (```bash, ```sh, ```console or an unlabelled fence) runs with
`bash -e`, in a fresh empty folder per page. Blocks in other languages (```yaml, ```text, ```json) are files or
output, not commands. A block that cannot run here says why, in an HTML comment on the line
just before its fence (the rendered page does not show it):

    <!-- docs-test: skip reason="needs a GPU" -->

and a page whose every block is a log of long measurements says so once, anywhere in the page:

    <!-- docs-test: skip-file reason="measurement logs: minutes to hours each" -->

Usage (CI runs it from the installed wheel, in an empty folder):

    python scripts/doc_blocks.py list README.md docs     # what would run and what is skipped, why
    python scripts/doc_blocks.py run README.md docs      # run them; exit 1 on the first failure
"""

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_LANGUAGES = {"python": "python", "py": "python", "bash": "shell", "sh": "shell", "shell": "shell",
                 "console": "shell", "": "shell"}
_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)[^\n]*$")
_SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s+reason=\"([^\"]+)\"\s*-->")
_SKIP_FILE = re.compile(r"<!--\s*docs-test:\s*skip-file\s+reason=\"([^\"]+)\"\s*-->")
TIMEOUT_S = 900  # per block: a 2-minute block on an idle machine, with room for a shared CI machine


@dataclasses.dataclass
class Block:
    """One fenced code block: where it is, its kind (`python`, `shell` or None), its code and why it is skipped."""

    page: Path
    line: int
    language: str
    code: str
    skip: str = ""

    @property
    def kind(self):
        return RUN_LANGUAGES.get(self.language)

    def where(self):
        return f"{self.page}:{self.line}"


def extract(page):
    """The fenced code blocks of a Markdown page, in order, with their skip reasons.

    Args:
        page: a Markdown file.

    Returns:
        A list of `Block`.
    """
    page = Path(page)
    lines = page.read_text(encoding="utf-8").splitlines()
    whole = _SKIP_FILE.search("\n".join(lines))
    blocks, i = [], 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, language = match.groups()
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        reason = _SKIP.search(before)
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        skip = reason.group(1) if reason else (whole.group(1) if whole else "")
        blocks.append(Block(page, i + 1, language.lower(), "\n".join(body) + "\n", skip))
        i = j + 1
    return blocks


def pages(paths):
    """Markdown files named, or found under the folders named, sorted."""
    found = []
    for path in map(Path, paths):
        found.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    return found


def _run(command, folder, timeout):
    """Run `command` in `folder`; a block that outlives `timeout` fails (exit status 124), it does not crash the runner."""
    try:
        return subprocess.run(command, cwd=folder, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"timed out after {timeout} s", flush=True)
        return subprocess.CompletedProcess(command, 124)


def _run_python(blocks, folder):
    driver = ["import sys", "blocks = []"]
    for block in blocks:
        driver.append(f"blocks.append(({block.where()!r}, {block.code!r}))")
    driver.append("for where, code in blocks:\n"
                  "    print(f'--- {where}', flush=True)\n"
                  "    exec(compile(code, where, 'exec'), globals())")
    return _run([sys.executable, "-c", "\n".join(driver)], folder, TIMEOUT_S * len(blocks))


def _run_shell(block, folder):
    print(f"--- {block.where()}", flush=True)
    return _run(["bash", "-eo", "pipefail", "-c", block.code], folder, TIMEOUT_S)


def run(paths):
    """Run the blocks of `paths`: all Python blocks in one interpreter, then each page's shell blocks; returns the exit status."""
    blocks = [b for page in pages(paths) for b in extract(page) if b.kind and not b.skip]
    python = [b for b in blocks if b.kind == "python"]
    if python:
        with tempfile.TemporaryDirectory(prefix="doc-blocks-") as folder:
            start = time.perf_counter()
            result = _run_python(python, folder)
            print(f"python: {len(python)} blocks, {time.perf_counter() - start:.0f} s, "
                  f"{'FAILED' if result.returncode else 'ok'}", flush=True)
            if result.returncode:
                return 1
    for page in pages(paths):
        shell = [b for b in blocks if b.kind == "shell" and b.page == page]
        if not shell:
            continue
        with tempfile.TemporaryDirectory(prefix="doc-blocks-") as folder:
            start = time.perf_counter()
            failed = [b for b in shell if _run_shell(b, folder).returncode]
            print(f"{page}: {len(shell)} shell blocks, {time.perf_counter() - start:.0f} s, "
                  f"{'FAILED at ' + failed[0].where() if failed else 'ok'}", flush=True)
            if failed:
                return 1
    return 0


def report(paths, out=sys.stdout):
    """Print what runs and what is skipped (with its reason); returns the skipped blocks."""
    skipped = []
    for page in pages(paths):
        for block in extract(page):
            if not block.kind:
                continue
            state = f"skipped: {block.skip}" if block.skip else "runs"
            print(f"{block.where()} [{block.language or 'shell'}] {state}", file=out, flush=True)
            if block.skip:
                skipped.append(block)
    return skipped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["list", "run"])
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    report(args.paths)
    if args.command == "run":
        os.environ.setdefault("MPLBACKEND", "Agg")
        return run(args.paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
