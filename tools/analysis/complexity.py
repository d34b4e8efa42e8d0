"""Parameters and FLOPs of every Res2Net variant next to the published values.

Usage: python tools/analysis/complexity.py [--shape 224] [--arch NAME ...]

FLOPs are multiply-adds at batch 1, as the paper counts them (Table 3); the
published parameter counts are the official checkpoints' without the fc head.
"""
import argparse

import torch
from mmengine.analysis import FlopAnalyzer

from res2net_mm.models import ARCHS, ZOO, Res2Net


def measure(arch, shape):
    """Return (params, GFLOPs) of the backbone at ``shape`` x ``shape``."""
    model = Res2Net(arch).eval()
    analyzer = FlopAnalyzer(model, (torch.randn(1, 3, shape, shape),))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return sum(p.numel() for p in model.parameters()), analyzer.total() / 1e9


def fmt(value, spec):
    return '-' if value is None else format(value, spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', type=int, default=224)
    parser.add_argument('--arch', nargs='+', default=list(ARCHS), choices=list(ARCHS))
    args = parser.parse_args()
    print(f'| variant | params (ours) | params (published) | GFLOPs (ours, {args.shape}px) '
          '| GFLOPs (paper) | ratio |')
    print('|---|---|---|---|---|---|')
    for arch in args.arch:
        params, gflops = measure(arch, args.shape)
        paper = ZOO[arch]['gflops'] if args.shape == 224 else None
        ratio = None if paper is None else gflops / paper
        print(f'| {arch} | {params:,} | {fmt(ZOO[arch]["params"], ",")} | {gflops:.2f} '
              f'| {fmt(paper, ".1f")} | {fmt(ratio, ".3f")} |')


if __name__ == '__main__':
    main()
