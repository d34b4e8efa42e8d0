"""Parameters and FLOPs of every Res2Net variant next to the published values.

Usage: python tools/analysis/complexity.py [--shape 224] [--arch NAME ...]

FLOPs are multiply-adds at batch 1, as the paper counts them (Table 3); the
published parameter counts are the official checkpoints' without the fc head.
The DLA-60 and Big-Little archs (variants.FAMILY_ZOO) are published as full
ImageNet models: their rows add the classifier (and, for DLA-60, the
official code's unused projections) before comparing, in millions.
"""
import argparse

import torch
from mmengine.analysis import FlopAnalyzer

from res2net_mm.models import ARCHS, ZOO, BigLittleRes2Net, Res2Net, Res2NetDLA
from res2net_mm.variants import BL_ARCHS, DLA_ARCHS, FAMILY_ZOO

ALL_ARCHS = list(ARCHS) + list(DLA_ARCHS) + list(BL_ARCHS)
# The official dla.py's unused shortcut projections of DLA-60 (levels 3, 4 and
# 4.tree1): parameters, and multiply-adds per pixel of the input.
DLA_UNUSED_PARAMS = (128 * 256 + 2 * 256) + 2 * (256 * 512 + 2 * 512)
DLA_UNUSED_MACS_PER_PIXEL = 128 * 256 / 8**2 + 2 * 256 * 512 / 16**2


def build(arch):
    for table, cls in ((DLA_ARCHS, Res2NetDLA), (BL_ARCHS, BigLittleRes2Net)):
        if arch in table:
            return cls(arch)
    return Res2Net(arch)


def published_form(arch, params, gflops, shape):
    """(params in M, GFLOPs) of the model as ``FAMILY_ZOO`` counts it."""
    if arch not in FAMILY_ZOO:
        return params, gflops
    if arch in DLA_ARCHS:
        params += DLA_UNUSED_PARAMS
        gflops += DLA_UNUSED_MACS_PER_PIXEL * shape * shape / 1e9
    classes = 1000
    return (params + (build(arch).feat_dim + 1) * classes) / 1e6, gflops


def measure(arch, shape):
    """Return (params, GFLOPs) of the backbone at ``shape`` x ``shape``."""
    model = build(arch).eval()
    analyzer = FlopAnalyzer(model, (torch.randn(1, 3, shape, shape),))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return sum(p.numel() for p in model.parameters()), analyzer.total() / 1e9


def fmt(value, spec):
    return '-' if value is None else format(value, spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', type=int, default=224)
    parser.add_argument('--arch', nargs='+', default=ALL_ARCHS, choices=ALL_ARCHS)
    args = parser.parse_args()
    print(f'| variant | params (ours) | params (published) | GFLOPs (ours, {args.shape}px) '
          '| GFLOPs (paper) | ratio |')
    print('|---|---|---|---|---|---|')
    for arch in args.arch:
        params, gflops = measure(arch, args.shape)
        facts = FAMILY_ZOO.get(arch) or ZOO.get(arch, {})
        paper = facts.get('gflops') if args.shape == 224 else None
        published, ours = fmt(facts.get('params'), ','), f'{gflops:.2f}'
        if arch in FAMILY_ZOO:  # compare in the published form (see above)
            full, gflops = published_form(arch, params, gflops, args.shape)
            published = f'{fmt(facts["params_m"], ".2f")} (ours as published: {full:.2f}), M'
            ours += f' ({gflops:.2f} as published)' if arch in DLA_ARCHS else ''
        ratio = None if paper is None else gflops / paper
        print(f'| {arch} | {params:,} | {published} | {ours} '
              f'| {fmt(paper, ".2f")} | {fmt(ratio, ".3f")} |')


if __name__ == '__main__':
    main()
