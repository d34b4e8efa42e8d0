"""Convert a Res2Net checkpoint between layouts, validated in full first.

Layouts: official (= timm, = ours), mmdet, mmpretrain, and PaddleClas's
.pdparams as a source; see README.md, "Pretrained checkpoints". SRC may be a
zoo name (zoo://<name>, downloaded once and verified, README "Pretrained
weights"). The output is written to a temporary file beside DST and renamed
only after every tensor was mapped with its shape, so a failure never leaves
a partial or clobbered DST; a DST ending in .safetensors is a safetensors file.

Example:
    python tools/convert_checkpoint.py res2net50_26w_4s-06e79181.pth \\
        checkpoints/res2net50_26w_4s.pth
    python tools/convert_checkpoint.py epoch_12.pth r2n50_backbone.pth --to mmdet
    python tools/convert_checkpoint.py zoo://res2net200_v1b_26w_4s_ssld r2n200.safetensors --keep-head
"""
import argparse
import sys

from res2net_mm.checkpoint import LAYOUTS, TARGETS, CheckpointError, convert_checkpoint


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str] | None): Arguments (None: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint to read (any wrapper, any layout) or zoo://<name>')
    parser.add_argument('dst', help='state dict to write (.safetensors: a safetensors file)')
    parser.add_argument('--from', dest='src_layout', default='auto', choices=('auto', ) + LAYOUTS,
                        help='layout of SRC (default: detected from its keys)')
    parser.add_argument('--to', dest='dst_layout', default='ours', choices=TARGETS,
                        help='layout of DST (default: ours)')
    parser.add_argument('--keep-head', action='store_true',
                        help='keep the ImageNet classifier (fc / head.fc)')
    return parser.parse_args(argv)


def main(argv=None):
    """Convert, print what was done; exit 1 with the reason on failure.

    Args:
        argv (list[str] | None): Arguments (None: ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    try:
        report = convert_checkpoint(args.src, args.dst, args.src_layout, args.dst_layout,
                                    args.keep_head)
    except (CheckpointError, OSError) as exc:
        sys.exit(f'error: {exc}\nnothing was written to {args.dst}')
    print(f'{args.src} ({report["src"]} layout) -> {args.dst} ({report["dst"]} layout): '
          f'{report["arch"]}, {report["tensors"]} tensors, classifier head {report["head"]}, '
          f'{report["dropped"]} keys dropped')


if __name__ == '__main__':
    main()
