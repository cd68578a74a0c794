"""Probes: run a submission's functions on inputs built from a grading seed (inside its sandbox).

One module per stage, `sNN_topic.py`, with `probe_<question>(ns, seed) -> dict[str, np.ndarray]` and
the input builders `<question>_inputs(seed)` that the verdicts import too. Probe modules hold no
reference answers and no verdict logic: they are copied into the sandbox, the verdicts never are.
"""
