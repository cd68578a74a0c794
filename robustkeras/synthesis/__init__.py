"""Image synthesis with one robust classifier: every task is `optimize` + an objective + constraints.

Convention: every task takes the class it pushes towards as `target` (its
third argument: `generate(model, target)`, `inpaint(model, images, target,
mask)`, `super_resolve(model, lowres, target)`, `sketch_to_image(model,
sketches, target)`, `translate(model, images, target)`) and returns a
`SynthesisResult` whose `objective_values` are maximised. Images are floats in
[0, 1]. See the README's "Conventions" section.
"""

from robustkeras.synthesis.conditional_seeds import conditional_fill, conditional_mean
from robustkeras.synthesis.generation import class_objective, generate
from robustkeras.synthesis.inpaint import inpaint, inpaint_objective, make_mask
from robustkeras.synthesis.inpaint_baselines import diffusion_fill, harmonic_fill, hole_psnr, mean_fill
from robustkeras.synthesis.lowres_stats import generate_upsampled, lowres_class_stats, read_class_folders, upsampled_seeds
from robustkeras.synthesis.manipulation import FeaturePainter, feature_objective, manipulate
from robustkeras.synthesis.optimizer import SynthesisResult, class_probability, feature_model, optimize
from robustkeras.synthesis.seeds import compute_class_stats, load_class_stats, sample_seeds
from robustkeras.synthesis.sketch import make_sketch, sketch_to_image, strokes_to_sketch
from robustkeras.synthesis.super_resolution import bicubic, downsample, lowres_projection, super_resolve
from robustkeras.synthesis.translation import PAIRS, translate

__all__ = [
    "optimize", "SynthesisResult", "class_probability", "feature_model",
    "generate", "class_objective", "sample_seeds", "compute_class_stats", "load_class_stats",
    "inpaint", "inpaint_objective", "make_mask", "conditional_fill", "conditional_mean",
    "mean_fill", "diffusion_fill", "harmonic_fill", "hole_psnr",
    "super_resolve", "downsample", "bicubic", "lowres_projection",
    "make_sketch", "strokes_to_sketch", "sketch_to_image",
    "translate", "PAIRS",
    "manipulate", "feature_objective", "FeaturePainter",
    "lowres_class_stats", "read_class_folders", "upsampled_seeds", "generate_upsampled",
]
