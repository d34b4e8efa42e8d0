"""Side-by-side speed and memory of Res2Net-50 implementations.

In one process, interleaving the models run by run (these machines are
noisy), reports median eval latency (224x224), a training step
(forward + backward + SGD step) and peak training memory, each as a ratio to
ResNet-50 (mmdet's) and to the matching peer (timm's / mmdet's Res2Net).

Every model gets the same treatment in a table, and each table compares
models treated alike: eager (as its library ships it; ours in its default
``impl='auto'``: the fast path on the CPU, the reference on CUDA;
``ours_26w_4s_fast`` is the fast path everywhere), frozen (the standard deployment treatment, see
``freeze``; eval only) and compiled (``torch.compile``, inductor; eval and
training). Under ``--amp`` every eager and compiled table runs again under
autocast (bfloat16 on the CPU; float16 on CUDA), memory included.
``--profile`` prints where the time goes, op by op, for the models of each
table (CPU).

Usage:
    python tools/benchmark.py --threads 2          # CPU, batch 1 and 8, every mode
    python tools/benchmark.py --amp                # ... and again under bf16 autocast
    python tools/benchmark.py --threads 2 --amp --whole-models   # every table
    python tools/benchmark.py --device cuda        # fp32 and AMP, batch 1 and 32
    python tools/benchmark.py --models ours_26w_4s timm_resnet50 --rounds 5
    python tools/benchmark.py --modes eager frozen --profile
    python tools/benchmark.py --best --threads 2   # each model's best treatment (res2net_mm.deploy)
"""
import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time

import torch

from res2net_mm.models import Res2Net, deploy, fuse_conv_bn

# name: (factory, peer names). Each factory returns a module mapping an image
# batch to backbone features; classifier heads are left out everywhere.
REFERENCE = 'mmdet_resnet50'


def _ours(arch, **kwargs):
    return lambda: Res2Net(arch, out_indices=(3,), **kwargs)


def _ours_fused(arch):
    """The deploy step: BN folded into the convs for good (eval only)."""
    return lambda: fuse_conv_bn(Res2Net(arch, out_indices=(3,)))


def _timm(name):
    def build():
        import timm
        model = timm.create_model(name, num_classes=0, global_pool='')
        return model
    return build


def _mmdet(kind):
    def build():
        from mmdet.models.backbones import Res2Net as MMDetRes2Net
        from mmdet.models.backbones import ResNet
        cls = ResNet if kind == 'resnet' else MMDetRes2Net
        return cls(depth=50, out_indices=(3,))
    return build


MODELS = {
    'ours_26w_4s': (_ours('res2net50_26w_4s'), ('timm_res2net50_26w_4s', 'mmdet_res2net50')),
    'ours_14w_8s': (_ours('res2net50_14w_8s'), ('timm_res2net50_14w_8s',)),
    'ours_48w_2s': (_ours('res2net50_48w_2s'), ('timm_res2net50_48w_2s',)),
    'ours_v1b_26w_4s': (_ours('res2net50_v1b_26w_4s'), ('timm_res2net50d', 'mmdet_res2net50')),
    'ours_26w_4s_nchw': (_ours('res2net50_26w_4s', memory_format='contiguous'),
                         ('timm_res2net50_26w_4s',)),
    'ours_26w_4s_reference': (_ours('res2net50_26w_4s', impl='reference'),
                              ('timm_res2net50_26w_4s',)),
    'ours_26w_4s_fast': (_ours('res2net50_26w_4s', impl='fast'), ('timm_res2net50_26w_4s',)),
    # The deploy step is compared with ours undeployed only: the others' BN
    # is folded in the frozen and compiled tables, not in eager ones.
    'ours_26w_4s_fused': (_ours_fused('res2net50_26w_4s'), ('ours_26w_4s',)),
    'ours_26w_4s_with_cp': (_ours('res2net50_26w_4s', with_cp=True), ('timm_res2net50_26w_4s',)),
    'mmdet_resnet50': (_mmdet('resnet'), ()),
    'timm_resnet50': (_timm('resnet50'), ()),
    'timm_res2net50_26w_4s': (_timm('res2net50_26w_4s'), ()),
    'timm_res2net50_14w_8s': (_timm('res2net50_14w_8s'), ()),
    'timm_res2net50_48w_2s': (_timm('res2net50_48w_2s'), ()),
    'timm_res2net50d': (_timm('res2net50d'), ()),
    'mmdet_res2net50': (_mmdet('res2net'), ()),
}
# ours_26w_4s_fast repeats ours_26w_4s on the CPU (impl='auto' runs the fast path there).
DEFAULT_MODELS = [m for m in MODELS if m not in ('ours_26w_4s_with_cp', 'ours_26w_4s_fast')]
EVAL_ONLY = ('ours_26w_4s_fused',)  # a deployed model is not trained
# Models whose frozen / compiled graph is another's: a tracer or compiler
# records ours as impl='reference' (and a fused model's graph is what
# freezing folds anyway), so these rows would repeat ours_26w_4s.
SAME_GRAPH = ('ours_26w_4s_reference', 'ours_26w_4s_fused', 'ours_26w_4s_nchw', 'ours_26w_4s_fast')
MODES = ('eager', 'frozen', 'compiled')
TITLES = {'eager': '', 'frozen': ', frozen (jit.trace + freeze + optimize_for_inference, NHWC input)',
          'compiled': ', compiled (torch.compile, NHWC input; inference with freezing)'}


def output_sum(outputs):
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return sum(o.float().mean() for o in outputs)


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def freeze(model, x):
    """The standard deployment treatment: traced, frozen and optimized for
    inference (BN folded, ops fused, oneDNN weights prepacked on CPU); what
    the tracer records of ours is ``impl='reference'``."""
    model.eval()  # (mmdet's train() returns None: no chaining)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


def amp_dtype(device):
    """What autocast runs in: float16 on CUDA, bfloat16 on the CPU."""
    return torch.float16 if device == 'cuda' else torch.bfloat16


def compile_model(model):
    """The compiled treatment: ``torch.compile`` (inductor) with ``freezing``,
    which applies to inference graphs only (weights become constants: BN
    folded, oneDNN weights prepacked on CPU, as ``jit.freeze``); training
    graphs compile as by default. Compilation happens in the warm-up runs,
    before any timing."""
    import torch._inductor.config as inductor
    inductor.freezing = True  # read when a graph compiles (options= is not)
    # Every table compiles each model's forward again (another batch, mode or
    # dtype), and models of one class share that code: more than dynamo's
    # default 8 graphs per function, past which it would silently run eager.
    torch._dynamo.config.recompile_limit = 64
    return torch.compile(model)


def make_input(batch, size, device, mode):
    """A random image batch; NHWC for the frozen and compiled treatments (the
    layout their CPU convolutions want), as torch's CPU inference guides
    recommend."""
    x = torch.randn(batch, 3, size, size, device=device)
    return x if mode == 'eager' else x.contiguous(memory_format=torch.channels_last)


def make_eval_step(model, batch, device, amp, size=224, mode='eager'):
    x = make_input(batch, size, device, mode)
    if mode == 'frozen':
        model = freeze(model, x)
    elif mode == 'compiled':
        model = compile_model(model)

    def step():
        with torch.inference_mode(), torch.autocast(device, amp_dtype(device), enabled=amp):
            model(x)
    return step


def make_train_step(model, batch, device, amp, size=224, mode='eager'):
    x = make_input(batch, size, device, mode)
    optim = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    # Loss scaling is for float16 (CUDA); bfloat16 keeps float32's range.
    scaler = torch.amp.GradScaler(device, enabled=amp and amp_dtype(device) == torch.float16)
    forward = compile_model(model) if mode == 'compiled' else model

    def step():
        optim.zero_grad(set_to_none=True)
        with torch.autocast(device, amp_dtype(device), enabled=amp):
            loss = output_sum(forward(x))
        scaler.scale(loss).backward()
        scaler.step(optim)
        scaler.update()
    return step


def interleaved_medians(steps, rounds, device):
    """Median seconds per step; each round runs every model once, in turn."""
    times = {name: [] for name in steps}
    for step in steps.values():  # warm-up (allocator, oneDNN/cuDNN plans, JIT profiling)
        for _ in range(3):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            sync(device)
            start = time.perf_counter()
            step()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def status_bytes(field):
    with open('/proc/self/status') as f:
        fields = dict(line.split(':', 1) for line in f)
    return int(fields[field].split()[0]) * 1024


def memory_probe(name, batch, size, amp):
    """Child process: peak resident memory above the steady state during a
    training step (CPU). The parent sets MALLOC_MMAP_THRESHOLD_ so freed
    activations go back to the OS and resident memory tracks live tensors."""
    model = MODELS[name][0]()
    model.train()
    step = make_train_step(model, batch, 'cpu', amp=amp, size=size)
    step()  # warm-up: optimizer state, oneDNN kernels, thread pools
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # resets VmHWM, the peak resident set size (Linux >= 4.0)
    before = status_bytes('VmRSS')
    step()
    print(status_bytes('VmHWM') - before)


def peak_train_memory(name, batch, device, amp, size):
    if device == 'cuda':
        model = MODELS[name][0]().to(device)
        model.train()
        step = make_train_step(model, batch, device, amp, size)
        step()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        return torch.cuda.max_memory_allocated() - base
    out = subprocess.run([sys.executable, __file__, '--memory-probe', name,
                          '--batch-sizes', str(batch), '--size', str(size)] + ['--amp'] * amp,
                         capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONWARNINGS='ignore',
                                              MALLOC_MMAP_THRESHOLD_='65536'))
    return int(out.stdout.strip().splitlines()[-1])


def ratio_cells(values, name):
    """'x.xx' ratios to ResNet-50 and to each of the model's peers present
    (a deploy step's row: to ours undeployed only)."""
    cells = []
    # timm's ResNet-50 stands in where mmdet is not installed
    reference = REFERENCE if REFERENCE in values else 'timm_resnet50'
    refs = MODELS[name][1] if name in EVAL_ONLY else (reference,) + MODELS[name][1]
    for ref in refs:
        if ref in values and ref != name:
            cells.append(f'{values[name] / values[ref]:.2f}x {ref}')
    return ', '.join(cells) or '-'


def print_table(title, values, unit, scale):
    print(f'\n### {title}\n')
    print(f'| model | {unit} | ratio |')
    print('|---|---|---|')
    for name, value in values.items():
        print(f'| {name} | {value * scale:.1f} | {ratio_cells(values, name)} |')


def build_models(names, device):
    models = {}
    for name in names:
        try:
            models[name] = MODELS[name][0]().to(device)
        except ImportError as err:  # a peer that is not installed is skipped
            print(f'skipping {name}: {err}')
    return models


def treated(models, mode):
    """The models a table of ``mode`` compares: every one eager; frozen and
    compiled leave out the ``SAME_GRAPH`` variants."""
    if mode == 'eager':
        return models
    return {n: m for n, m in models.items() if n not in SAME_GRAPH}


def profile_ops(steps, rounds=3, top=12):
    """Self CPU time per op (ms per step) of each step, from torch.profiler;
    prints one table with a column per model, the ``top`` ops of any."""
    from torch.profiler import ProfilerActivity, profile
    per_model = {}
    for name, step in steps.items():
        step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(rounds):
                step()
        per_model[name] = {e.key: e.self_cpu_time_total / 1e3 / rounds
                           for e in prof.key_averages()}
    ops = set()
    for times in per_model.values():
        ops.update(sorted(times, key=times.get, reverse=True)[:top])
    ops = sorted(ops, key=lambda op: -max(t.get(op, 0) for t in per_model.values()))
    print('\n| op (self CPU ms per step) | ' + ' | '.join(per_model) + ' |')
    print('|---|' + '---|' * len(per_model))
    for op in ops:
        print(f'| {op} | ' + ' | '.join(f'{t.get(op, 0):.1f}' for t in per_model.values()) + ' |')
    print('| total | ' + ' | '.join(f'{sum(t.values()):.1f}' for t in per_model.values()) + ' |')


def best_vs_best(models, batches, rounds, device, size):
    """Each model's best inference treatment, picked by ``res2net_mm.deploy``
    (BN folded, channels-last, the fastest of eager / frozen / frozen +
    optimize_for_inference / prepacked (ours only), measured on the batch),
    timed side by side."""
    for batch in batches:
        x = torch.randn(batch, 3, size, size, device=device)
        deployed = {}
        for name, model in models.items():
            if name in SAME_GRAPH or name == 'ours_26w_4s_with_cp':
                continue
            model.eval()  # (mmdet's train() returns None: no chaining)
            deployed[name] = deploy(model, x, rounds=3)
        steps = {n: (lambda d=d: d(x)) for n, d in deployed.items()}
        values = interleaved_medians(steps, rounds, device)
        print_table(f'eval latency, batch {batch}, best vs best (res2net_mm.deploy)', values, 'ms', 1e3)
        print('\nchosen: ' + ', '.join(f'{n} {d.treatment}' for n, d in deployed.items()))


def run(args):
    device = args.device
    amps = [False, True] if args.amp or device == 'cuda' else [False]
    torch.set_num_threads(args.threads) if args.threads else None
    batches = args.batch_sizes or ([1, 32] if device == 'cuda' else [1, 8])
    print(f'device: {torch.cuda.get_device_name() if device == "cuda" else "CPU"}, '
          f'torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'{args.size}x{args.size}, {args.rounds} interleaved rounds, medians')
    models = build_models(args.models, device)
    if args.best:
        best_vs_best(models, batches, args.rounds, device, args.size)
        return
    for amp in amps:
        tag = f' AMP ({str(amp_dtype(device))[6:]})' if amp else ' fp32' if device == 'cuda' else ''
        for batch, mode in itertools.product(batches, args.modes):
            if mode == 'frozen' and amp:
                continue  # frozen graphs keep their dtypes: no autocast
            for m in models.values():
                m.eval()  # (mmdet's train() returns None: no chaining)
            steps = {n: make_eval_step(m, batch, device, amp, args.size, mode)
                     for n, m in treated(models, mode).items()}
            title = f'eval latency, batch {batch}{tag}{TITLES[mode]}'
            print_table(title, interleaved_medians(steps, args.rounds, device), 'ms', 1e3)
            if args.profile and device == 'cpu':
                profile_ops(steps)
        if args.skip_train:
            continue
        train_batch = args.train_batch or (32 if device == 'cuda' else 8)
        for mode in [m for m in args.modes if m != 'frozen']:
            trained = {n: m for n, m in treated(models, mode).items() if n not in EVAL_ONLY}
            for m in trained.values():
                m.train()
            steps = {n: make_train_step(m, train_batch, device, amp, args.size, mode)
                     for n, m in trained.items()}
            print_table(f'training step, batch {train_batch}{tag}{TITLES[mode]}',
                        interleaved_medians(steps, max(3, args.rounds // 2), device), 'ms', 1e3)
            if args.profile and device == 'cpu':
                profile_ops(steps, rounds=1)
        trained = [n for n in models if n not in EVAL_ONLY]
        names = trained + (['ours_26w_4s_with_cp'] if 'ours_26w_4s' in models else [])
        memory = {n: peak_train_memory(n, train_batch, device, amp, args.size) for n in names}
        print_table(f'peak training memory, batch {train_batch}{tag}', memory, 'MiB', 2**-20)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        choices=['cpu', 'cuda'])
    parser.add_argument('--models', nargs='+', default=DEFAULT_MODELS, choices=list(MODELS))
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--size', type=int, default=224, help='input height and width')
    parser.add_argument('--batch-sizes', type=int, nargs='+')
    parser.add_argument('--train-batch', type=int)
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--modes', nargs='+', default=list(MODES), choices=MODES,
                        help='treatments, each table compares models treated alike '
                             '(frozen: eval only)')
    parser.add_argument('--amp', action='store_true',
                        help='also under autocast (bfloat16 on the CPU; always on CUDA)')
    parser.add_argument('--profile', action='store_true',
                        help='per-op CPU time of each table\'s models (torch.profiler)')
    parser.add_argument('--whole-models', action='store_true',
                        help='then the whole detector / segmentor / pose model tables '
                             '(tools/benchmark_models.py, same threads)')
    parser.add_argument('--best', action='store_true',
                        help='only the best-vs-best table: each model deployed by '
                             'res2net_mm.deploy (its fastest treatment), batch 1 and 8')
    parser.add_argument('--memory-probe', help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name, value in (('--rounds', args.rounds), ('--size', args.size),
                        ('--train-batch', args.train_batch), ('--threads', args.threads)):
        if value is not None and value < 1:
            parser.error(f'{name} must be >= 1, got {value}')
    if args.memory_probe:
        memory_probe(args.memory_probe, args.batch_sizes[0], args.size, args.amp)
        return
    run(args)
    if args.whole_models:
        sys.stdout.flush()
        tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'benchmark_models.py')
        subprocess.run([sys.executable, tool] + ['--threads', str(args.threads)] * bool(args.threads),
                       check=True)


if __name__ == '__main__':
    main()
