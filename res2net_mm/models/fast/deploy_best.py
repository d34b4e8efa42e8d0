"""``deploy(model, example)``: a model's best inference, picked by measuring.

The explicit deploy step beyond ``fuse_conv_bn``: a snapshot of the model
with BN folded for good and channels-last weights, then each treatment
timed on ``example`` and the fastest kept:

* ``'eager'``: the folded model as it is (ours runs the fast path there);
* ``'frozen'``: ``torch.jit.trace`` + ``torch.jit.freeze``;
* ``'frozen_optimized'``: the same + ``torch.jit.optimize_for_inference``
  (oneDNN weights prepacked; for Res2Net's many splits/adds/concats the
  layout conversions around them can make it slower than plain freezing);
* ``'prepacked'``: ours only (``prepacked.py``): a straight-line
  channels-last forward over oneDNN weights reordered once, ReLU and the
  residual add fused into the convs; other models and those it cannot run
  (plugins, deformable convs) record its ``NotPackableError``;
* ``'inductor'`` (opt-in, ``inductor=True``): ``torch.compile`` with
  ``freezing``; compiling takes a minute or more on a CPU.

The result holds copies of the weights taken at the call: changing the
original model afterwards (training, loading, EMA) does not reach it.
Re-deploy after changing weights. It is for inference only (no autograd).
"""
import copy
import statistics
import time
import warnings

import torch
import torch.nn as nn

from .deploy import fuse_conv_bn
from .prepacked import PrepackedRes2Net

TREATMENTS = ('eager', 'frozen', 'frozen_optimized', 'prepacked', 'inductor')


class Deployed(nn.Module):
    """The deployed snapshot: ``forward`` runs the chosen treatment under
    ``torch.inference_mode`` on a channels-last copy of the input.

    Attributes:
        treatment (str): The chosen one of ``TREATMENTS``.
        timings (dict): Median seconds per call of each treatment measured
            (a treatment that failed to build: its error message).
    """

    def __init__(self, runner, treatment, timings):
        super().__init__()
        self.runner, self.treatment, self.timings = runner, treatment, timings

    def forward(self, x):
        with torch.inference_mode():
            return self.runner(x.contiguous(memory_format=torch.channels_last))


def _build(treatment, folded, example):
    if treatment == 'eager':
        return folded
    if treatment == 'prepacked':
        return PrepackedRes2Net(folded, example)
    if treatment == 'inductor':
        import torch._inductor.config as inductor
        inductor.freezing = True
        return torch.compile(folded)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)  # jit is deprecated, still the fastest here
        frozen = torch.jit.freeze(torch.jit.trace(folded, example, check_trace=False))
        if treatment == 'frozen_optimized':
            return torch.jit.optimize_for_inference(frozen)
    return frozen


def _median_seconds(runner, example, rounds, sync):
    with torch.inference_mode():
        for _ in range(2):  # warm-up: JIT profiling runs, oneDNN plans, compilation
            runner(example)
        times = []
        for _ in range(rounds):
            sync()
            start = time.perf_counter()
            runner(example)
            sync()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def deploy(model: nn.Module, example: torch.Tensor, inductor: bool = False, rounds: int = 5,
           treatments=None) -> Deployed:
    """Deploy ``model`` for inference on inputs like ``example``: a folded,
    channels-last snapshot run by its fastest treatment, measured on
    ``example``. ``model`` itself is left unchanged.

    Args:
        model (nn.Module): A backbone (``Res2Net`` or any module mapping an
            image tensor to tensors, e.g. torchvision's ResNet-50).
        example (Tensor): An input batch of the deployment's shape.
        inductor (bool): Also try ``torch.compile`` (inductor, freezing).
            Defaults to False.
        rounds (int): Timed calls per treatment (medians). Defaults to 5.
        treatments (Sequence[str] | None): Treatments to consider, of
            ``TREATMENTS``. Defaults to None: all but 'inductor' unless
            ``inductor``.

    Returns:
        Deployed: The chosen treatment (``.treatment``) and each one's
        median time (``.timings``).
    """
    if treatments is None:
        treatments = [t for t in TREATMENTS if t != 'inductor' or inductor]
    unknown = [t for t in treatments if t not in TREATMENTS]
    if unknown or not treatments:
        raise ValueError(f'treatments must be a non-empty list of {TREATMENTS}, got {treatments!r}')
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f'rounds must be an int >= 1, got {rounds!r}')
    if not isinstance(example, torch.Tensor) or example.dim() != 4:
        raise ValueError(f'example must be an NCHW image batch (a 4-d tensor), got '
                         f'{getattr(example, "shape", type(example).__name__)}')
    folded = fuse_conv_bn(copy.deepcopy(model)).to(memory_format=torch.channels_last)
    example = example.contiguous(memory_format=torch.channels_last)
    device = example.device
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    runners, timings = {}, {}
    for treatment in treatments:
        try:
            runner = _build(treatment, folded, example)
            timings[treatment] = _median_seconds(runner, example, rounds, sync)
            runners[treatment] = runner
        except Exception as exc:  # a treatment this model or machine cannot take
            timings[treatment] = f'{type(exc).__name__}: {exc}'.splitlines()[0]
    if not runners:
        raise RuntimeError(f'no treatment could run the model: {timings}')
    best = min(runners, key=timings.get)
    return Deployed(runners[best], best, timings)
