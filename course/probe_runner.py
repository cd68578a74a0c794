"""Run a submission's probes and send their raw outputs to the grader (runs INSIDE the sandbox).

    python probe_runner.py JOB_JSON

`JOB_JSON` (written by `course/grade.py`): `notebook` (path relative to the job file), `probes`
(the stage's probe module, `course.checks.probes.sNN_topic`), `questions` (in order),
`forbidden` (every library name the probed answers must not reach) and `seed`.

The notebook's definitions are loaded once (`course.checks.notebook.load_definitions`: imports,
defs, classes, literals, aliases; top-level calls never run; forbidden names other than
`robustkeras`'s patched first: the `robustkeras` the sandbox imports is already a copy whose
forbidden names are stubs, `course.checks.stubbed`),
then each `probe_<question>(ns, seed)` runs and its arrays go to the grader as an `.npz`.

Everything goes to the grader as frames on the original stdout: a header line
`%RKP {"kind": ..., "question": ..., "size": N}` and N bytes (the npz, or nothing); kinds are
`start`, `result`, `error` (a message identifier `id` and its `fields`, never finished text:
the grader renders the message) and `done`. The notebook's own prints go
to stderr. Nothing here is trusted: the notebook's code runs in this process and may write
frames too; the grader judges only what arrives, in its own process, and a question without a
result frame after its start frame scores zero.
"""

import importlib
import io
import json
import os
import re
import sys
from pathlib import Path

MAGIC = b"%RKP "


def frame(kind, question="", payload=b"", **extra):
    """One frame: the header line and the payload."""
    header = json.dumps({"kind": kind, "question": question, "size": len(payload), **extra})
    return MAGIC + header.encode() + b"\n" + payload


def error_fields(err, probe_error=None):
    """What an exception raised while probing tells the grader: a message identifier of
    `course.checks.probes._common.MESSAGES` and its fields, never finished text.

    `probe_error` is the probes' own `ProbeError` class (an exception of the notebook's that is
    merely *named* `ProbeError` is the student's code failing, like any other). The grader
    renders the message in its own process and shows the student's text (`raised`) quoted.
    """
    if probe_error is not None and isinstance(err, probe_error):
        return {"id": err.message_id, "fields": err.fields}
    name = type(err).__name__
    try:
        text = str(err)
    except BaseException:  # the notebook's own __str__ may raise too
        text = "(its message could not be read)"
    if name == "ReferenceUsed" and isinstance(err, AssertionError):
        found = re.search(r"`([A-Za-z_][A-Za-z0-9_.]*)`", text)
        return {"id": "reference_used", "fields": {"name": found.group(1) if found else "?"}}
    return {"id": "raised", "fields": {"type": name, "raised": text}}


def _short(fields):
    """Fields cut to a size that keeps a frame's header line under the grader's 2 KB."""
    return {str(k)[:20]: str(v)[:200 if k == "raised" else 80] for k, v in list(fields.items())[:6]}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text())
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # from here on, prints (Python, C or a shell) go to stderr, not to the grader

    def send(*args, **kwargs):
        channel.write(frame(*args, **kwargs))
        channel.flush()

    import numpy as np

    from course.checks.notebook import load_definitions

    probes = importlib.import_module(job["probes"])
    from course.checks.probes._common import ProbeError   # the class itself: a name proves nothing
    # `robustkeras` names are stubs in the copy of the package the sandbox imports (course.checks.stubbed);
    # the others are patched here, without keeping the originals where the notebook could find them
    others = tuple(n for n in job["forbidden"] if n.split(".")[0] != "robustkeras")
    ns = load_definitions(str(job_path.parent / job["notebook"]), forbidden=others, undoable=False)
    for question in job["questions"]:
        send("start", question)
        try:
            outputs = getattr(probes, f"probe_{question}")(ns, int(job["seed"]))
            buffer = io.BytesIO()
            np.savez(buffer, **outputs)
            send("result", question, buffer.getvalue())
        except BaseException as err:  # the notebook's SystemExit and KeyboardInterrupt included
            error = error_fields(err, ProbeError)
            send("error", question, id=str(error["id"])[:40], fields=_short(error["fields"]))
    send("done")
    channel.close()
    os._exit(0)  # no atexit handlers or finalizers the notebook may have registered


def frames(data, pos=0):
    """The complete frames in `data` (bytes or bytearray) from `pos`, without copying payloads:
    `(header, payload start, payload end)`; stops at an incomplete or malformed frame."""
    while data.startswith(MAGIC, pos):
        end = data.find(b"\n", pos, pos + 2048)
        try:
            header = json.loads(bytes(data[pos + len(MAGIC):end])) if end > 0 else None
            size = int(header["size"])
            str(header["kind"]), str(header["question"])
        except (ValueError, TypeError, KeyError):
            return
        if size < 0 or end + 1 + size > len(data):
            return
        yield header, end + 1, end + 1 + size
        pos = end + 1 + size


def parse(data, questions):
    """The grader's side: all the frames -> `(results, started, done)`.

    `results[q]` is `("result", npz bytes)` or `("error", {"id": ..., "fields": {...}})` for a
    result that follows the start frame of `q` (questions not in `questions` are ignored);
    `started` lists the questions whose start frame came, in order. Everything here came from
    the sandbox: `course/grade.py` validates the identifier and fields before showing any.
    """
    results, started, current, done = {}, [], None, False
    for header, a, b in frames(data):
        kind, question = header["kind"], header["question"]
        if kind == "start" and question in questions:
            current = question
            started.append(question)
        elif kind in ("result", "error") and question == current:
            results[question] = ("result", bytes(data[a:b])) if kind == "result" else \
                ("error", {"id": str(header.get("id", "")), "fields": header.get("fields")})
            current = None
        elif kind == "done":
            done = True
    return results, started, done


if __name__ == "__main__":
    main()
