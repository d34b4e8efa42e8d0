"""tools/train.py, tools/test.py and the launch scripts: options, missing data,
resuming an interrupted run (torch >= 2.6 checkpoints), two-process CPU
training and the Slurm scripts.

The runs use faster_rcnn_r2n50_coco shrunk onto the tiny shapes data by
``res2net_mm.testing.smoke_config`` (4 iterations, a checkpoint every 2) and
dumped to a file, trained from scratch with the documented
``--cfg-options model.backbone.init_cfg=None``.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import load

from res2net_mm.checkpoint import allow_runner_checkpoints
from res2net_mm.cli import (COCO_ITEMS, add_dump, build_runner, enable_amp, enable_show_dir,
                            missing_data_paths, request_full_coco)
from res2net_mm.testing import load_tool, smoke_config
from res2net_mm.checkpoint.runner_compat import runner_checkpoint_globals

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
SCRATCH = ['--cfg-options', 'model.backbone.init_cfg=None']
MAIN_PER_SCOPE = dict(mmdet='faster_rcnn_r2n50_coco', mmseg='deeplabv3plus_r2n50_voc12aug',
                      mmpose='simplebaseline_r2n50_coco')
DATA_ROOTS = dict(mmdet='data/coco/', mmseg='data/VOCdevkit/VOC2012', mmpose='data/coco/')


def run(args, log, env=None, timeout=600):
    """Run a command from the repository root; stdout+stderr go to ``log``."""
    with open(log, 'w') as out:
        proc = subprocess.run(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, **(env or {})}, timeout=timeout)
    return proc.returncode, Path(log).read_text()


@pytest.fixture(scope='module')
def tiny_config(tiny_shapes, tmp_path_factory):
    """faster_rcnn_r2n50_coco on the tiny shapes as a config file: 4
    iterations, a checkpoint every 2, per-rank parameter digests, gloo."""
    path = tmp_path_factory.mktemp('cfg') / 'faster_rcnn_r2n50_tiny.py'
    cfg = Config.fromfile(CONFIGS / 'faster_rcnn_r2n50_coco.py')
    smoke_config(cfg, tiny_shapes, 'unused', max_iters=4, checkpoint_interval=2)
    cfg.pop('work_dir')
    cfg.custom_hooks = [dict(type='res2net_mm.ParamDigestHook')]
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.dump(path)
    return path


@pytest.mark.parametrize('scope', sorted(MAIN_PER_SCOPE))
def test_missing_dataset_names_the_path(scope, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/ here
    config = str(CONFIGS / f'{MAIN_PER_SCOPE[scope]}.py')
    with pytest.raises(SystemExit) as exc:
        load_tool('train').main([config])
    message = str(exc.value.code)
    assert f'{DATA_ROOTS[scope]}  (train_dataloader.dataset' in message
    assert 'docs/experiments.md#data' in message
    (tmp_path / 'model.pth').write_bytes(b'')
    with pytest.raises(SystemExit) as exc:
        load_tool('test').main([config, 'model.pth'])
    assert f'{DATA_ROOTS[scope]}  (test_dataloader.dataset' in str(exc.value.code)


def test_missing_annotation_file_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'data/coco/train2017').mkdir(parents=True)
    with pytest.raises(SystemExit) as exc:
        load_tool('train').main([str(CONFIGS / 'faster_rcnn_r2n50_coco.py')])
    message = str(exc.value.code)
    assert 'data/coco/annotations/instances_train2017.json  (train_dataloader.dataset.ann_file)' in message
    assert 'data/coco/val2017/' in message and 'data/coco/train2017/' not in message


def test_missing_data_paths_follow_mmengine_rules(tmp_path):
    (tmp_path / 'imgs').mkdir()
    present = dict(data_root=str(tmp_path), ann_file='a.json', data_prefix=dict(img='imgs', seg=''))
    absent = dict(data_root=str(tmp_path / 'none'), ann_file='b.json')
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='RepeatDataset', dataset=dict(
            type='ConcatDataset', datasets=[present, absent]))),
        val_dataloader=dict(dataset=dict(data_root='s3://bucket/', ann_file='c.json',
                                         bbox_file=str(tmp_path / 'boxes.json'))),
        val_evaluator=[dict(type='CocoMetric', ann_file=str(tmp_path / 'val.json'))]))
    leaves = 'train_dataloader.dataset.dataset.datasets'
    assert missing_data_paths(cfg, ('train', 'val', 'test')) == [
        (f'{leaves}.0.ann_file', str(tmp_path / 'a.json')),
        (f'{leaves}.1.data_root', str(tmp_path / 'none')),
        ('val_dataloader.dataset.bbox_file', str(tmp_path / 'boxes.json')),
        ('val_evaluator.ann_file', str(tmp_path / 'val.json'))]


def _runner_checkpoint(work_dir, name='iter_2.pth', seed=123):
    """A minimal runner checkpoint in ``work_dir``, named by its last_checkpoint."""
    path = Path(work_dir) / name
    torch.save(dict(meta=dict(epoch=0, iter=2, seed=seed), state_dict={}, optimizer={}), path)
    (Path(work_dir) / 'last_checkpoint').write_text(str(path))
    return str(path)


def test_train_options(tiny_config, tmp_path):
    train = load_tool('train')
    latest = _runner_checkpoint(tmp_path)
    args = [str(tiny_config), '--work-dir', str(tmp_path), '--amp', '--auto-scale-lr',
            '--resume', '--launcher', 'pytorch'] + SCRATCH
    cfg = train.setup_config(train.parse_args(args))
    assert cfg.work_dir == str(tmp_path) and cfg.launcher == 'pytorch'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.auto_scale_lr.enable
    assert cfg.resume and cfg.load_from == latest and cfg.model.backbone.init_cfg is None
    assert cfg.randomness.seed == 123  # the data order continues
    assert cfg.custom_hooks[-1] == dict(type='res2net_mm.RandomStateHook')
    given = _runner_checkpoint(tmp_path, 'x.pth')
    cfg = train.setup_config(train.parse_args([str(tiny_config), '--resume', given,
                                               '--cfg-options', 'randomness.seed=7']))
    assert cfg.resume and cfg.load_from == given and cfg.randomness.seed == 7
    assert cfg.work_dir == os.path.join('./work_dirs', 'faster_rcnn_r2n50_tiny')
    assert [h.type for h in cfg.custom_hooks].count('res2net_mm.RandomStateHook') == 1


def _write_file(path, kind):
    if kind == 'state dict':
        torch.save({'conv1.weight': torch.zeros(1)}, path)
    elif kind == 'backbone checkpoint':
        torch.save(dict(state_dict={'conv1.weight': torch.zeros(1)}, meta=dict(epoch=1)), path)
    elif kind == 'html page':
        path.write_text('<html>404 Not Found</html>\n')
    elif kind == 'text file':  # 'h' is a pickle opcode: torch fails with a KeyError
        path.write_text('hello\n')


@pytest.mark.parametrize('kind,fragments', [
    ('no checkpoint', ['no checkpoint to resume in the work_dir {work}', 'last_checkpoint']),
    ('missing file', ['checkpoint not found: {path}']),
    ('state dict', ["{path} is not a runner checkpoint", "['meta', 'optimizer', 'state_dict']"]),
    ('backbone checkpoint', ["{path} is not a runner checkpoint", "['optimizer']"]),
    ('text file', ['{path} is not a readable checkpoint']),
    ('html page', ['{path} is not a readable checkpoint']),
])
def test_resume_without_a_runner_checkpoint_names_the_problem(kind, fragments, tiny_config,
                                                              tmp_path):
    work, path = tmp_path / 'work', tmp_path / 'model.pth'
    work.mkdir()
    _write_file(path, kind)
    resume = ['--resume'] if kind == 'no checkpoint' else ['--resume', str(path)]
    with pytest.raises(SystemExit) as exc:
        load_tool('train').main([str(tiny_config), '--work-dir', str(work)] + resume)
    message = str(exc.value.code)
    assert message.startswith('error: ')
    for fragment in fragments:
        assert fragment.format(work=work, path=path) in message


@pytest.mark.parametrize('kind', ['text file', 'html page'])
def test_test_tool_names_a_checkpoint_that_is_a_text_file(kind, tiny_config, tmp_path):
    path = tmp_path / 'model.pth'
    _write_file(path, kind)
    with pytest.raises(SystemExit) as exc:
        load_tool('test').main([str(tiny_config), str(path), '--work-dir', str(tmp_path)])
    assert f'error: {path} is not a readable checkpoint' in str(exc.value.code)


def test_amp_on_a_config_without_wrapper_type():
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='Adam', lr=5e-4))))
    enable_amp(cfg)  # mmpose's configs leave the type out
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'


@pytest.mark.parametrize('scope', sorted(MAIN_PER_SCOPE))
def test_show_dir_and_out_per_library(scope, tmp_path):
    cfg = Config.fromfile(CONFIGS / f'{MAIN_PER_SCOPE[scope]}.py')
    enable_show_dir(cfg, 'vis')
    add_dump(cfg, 'preds.pkl')
    request_full_coco(cfg)
    hook, vis = cfg.default_hooks.visualization, os.path.abspath('vis')
    expected = dict(mmdet=dict(draw=True, test_out_dir=vis), mmseg=dict(draw=True),
                    mmpose=dict(enable=True, out_dir=vis))[scope]
    assert {key: hook[key] for key in expected} == expected
    if scope == 'mmseg':
        assert cfg.visualizer.save_dir == vis
    dump = cfg.test_evaluator[-1]
    assert dump.type == ('DumpDetResults' if scope == 'mmdet' else 'DumpResults')
    if scope == 'mmdet':
        assert cfg.test_evaluator[0].metric_items == list(COCO_ITEMS)
    with pytest.raises(ValueError, match='.pkl'):
        add_dump(cfg, 'preds.json')


def test_from_scratch_is_one_cfg_option(monkeypatch, tmp_path):
    from res2net_mm.checkpoint import DownloadError
    from res2net_mm.registry import MODELS
    from res2net_mm.checkpoint import zoo_table
    train = load_tool('train')
    config = str(CONFIGS / 'faster_rcnn_r2n50_coco.py')
    pretrained = train.load_config(train.parse_args([config])).model.backbone
    # Offline: every mirror a closed local port, an empty cache.
    row = zoo_table()['res2net50_26w_4s']
    files = tuple(dict(f, urls=('http://127.0.0.1:9/x', )) for f in row['files'])
    monkeypatch.setitem(zoo_table(), 'res2net50_26w_4s', dict(row, files=files))
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(DownloadError, match='res2net50_26w_4s-06e79181.pth'):
        MODELS.build(pretrained).init_weights()
    scratch = train.load_config(train.parse_args([config] + SCRATCH)).model.backbone
    assert scratch.init_cfg is None
    MODELS.build(scratch).init_weights()


def _kill_after_checkpoint(args, work, log_path, checkpoint):
    """Run ``args``, SIGKILL it as soon as ``work/checkpoint`` is saved
    (``last_checkpoint`` is written after it)."""
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.time() + 600
        while not (work / 'last_checkpoint').exists() and proc.poll() is None:
            assert time.time() < deadline, f'no {checkpoint} after 600 s'
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (work / checkpoint).is_file(), Path(log_path).read_text()[-3000:]


@pytest.fixture(scope='module')
def interrupted_run(tiny_config, tmp_path_factory):
    """tools/train.py killed (SIGKILL) right after its iteration-2
    checkpoint, two iterations before the end."""
    work = tmp_path_factory.mktemp('interrupted')
    _kill_after_checkpoint([sys.executable, 'tools/train.py', str(tiny_config), '--work-dir',
                            str(work)] + SCRATCH, work, work / 'first.log', 'iter_2.pth')
    assert not (work / 'iter_4.pth').exists(), 'the run ended before it was interrupted'
    return work


def test_runner_checkpoint_needs_only_allowed_globals(interrupted_run):
    registered = torch.serialization.get_safe_globals()  # e.g. by an earlier build_runner
    torch.serialization.clear_safe_globals()
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(interrupted_run / 'iter_2.pth')
    finally:
        torch.serialization.add_safe_globals(registered)
    allowed = {entry[1] if isinstance(entry, tuple) else f'{entry.__module__}.{entry.__qualname__}'
               for entry in runner_checkpoint_globals()}
    assert needed, 'a full checkpoint pickles more than tensors: the test checks nothing'
    assert set(needed) <= allowed


def test_resume_continues_from_the_saved_iteration(interrupted_run, tiny_config):
    code, log = run([sys.executable, 'tools/train.py', str(tiny_config), '--work-dir',
                     str(interrupted_run), '--resume'] + SCRATCH, interrupted_run / 'resume.log')
    assert code == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [4/4]' in log
    assert 'Iter(train) [1/4]' not in log
    allow_runner_checkpoints()
    assert torch.load(interrupted_run / 'iter_4.pth')['meta']['iter'] == 4


def _equal_states(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal_states(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_equal_states, a, b))
    return torch.equal(a, b) if torch.is_tensor(a) else a == b


def test_resume_restores_the_optimizer_state(interrupted_run, tiny_config, tmp_path):
    cfg = Config.fromfile(tiny_config)
    cfg.merge_from_dict(dict(work_dir=str(tmp_path), resume=True, experiment_name='resume',
                             load_from=str(interrupted_run / 'iter_2.pth')))
    cfg.model.backbone.init_cfg = None
    cfg.train_cfg.max_iters = 2  # resume, then stop before any step
    runner = build_runner(cfg)
    runner.train()
    saved = torch.load(interrupted_run / 'iter_2.pth')  # build_runner allowed it
    momentum = [s['momentum_buffer'] for s in saved['optimizer']['state'].values()]
    assert runner.iter == 2 and momentum and all(m.abs().sum() > 0 for m in momentum)
    assert _equal_states(runner.optim_wrapper.optimizer.state_dict(), saved['optimizer'])
    assert _equal_states(runner.model.state_dict(), saved['state_dict'])


@pytest.mark.slow  # ~55 s (three training processes); in the default suite,
# test_random_state's resumed-equals-uninterrupted tests cover the same state
def test_killed_and_resumed_run_ends_bit_identical(tiny_config, tmp_path):
    """6 iterations killed after the checkpoint of iteration 3 and resumed
    end with the weights of 6 uninterrupted iterations: data augmentation
    (random flips: numpy) and proposal sampling (torch) continue from the
    checkpointed generator states, the data order from its seed."""
    train = [sys.executable, 'tools/train.py', str(tiny_config)]
    six = SCRATCH + ['train_cfg.max_iters=6', 'default_hooks.checkpoint.interval=3']
    killed = tmp_path / 'killed'
    _kill_after_checkpoint(train + ['--work-dir', str(killed)] + six, killed,
                           tmp_path / 'killed.log', 'iter_3.pth')
    assert not (killed / 'iter_6.pth').exists(), 'the run ended before it was killed'
    code, log = run(train + ['--work-dir', str(killed), '--resume'] + six,
                    tmp_path / 'resumed.log')
    assert code == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 3' in log and 'Iter(train) [4/6]' in log
    allow_runner_checkpoints()
    seed = torch.load(killed / 'iter_3.pth')['meta']['seed']  # random: not in the config
    whole = tmp_path / 'uninterrupted'
    code, log = run(train + ['--work-dir', str(whole)] + six + [f'randomness.seed={seed}'],
                    tmp_path / 'uninterrupted.log')
    assert code == 0, log[-3000:]
    resumed = torch.load(killed / 'iter_6.pth')['state_dict']
    uninterrupted = torch.load(whole / 'iter_6.pth')['state_dict']
    assert resumed.keys() == uninterrupted.keys()
    differ = [k for k in resumed if not torch.equal(resumed[k], uninterrupted[k])]
    assert not differ, f'{len(differ)} of {len(resumed)} tensors differ, e.g. {differ[:3]}'
    first = torch.load(whole / 'iter_3.pth')['state_dict']
    assert not all(torch.equal(first[k], uninterrupted[k]) for k in first), 'nothing trained'


@pytest.fixture(scope='module')
def plain_test(interrupted_run, tiny_config, tmp_path_factory):
    """tools/test.py of the iteration-2 checkpoint, nothing else set: its
    log and work dir (the baseline of the --fuse-conv-bn / --deploy tests)."""
    work_dir = tmp_path_factory.mktemp('plain_test')
    code, log = run([sys.executable, 'tools/test.py', str(tiny_config),
                     str(interrupted_run / 'iter_2.pth'), '--work-dir', str(work_dir),
                     '--out', str(work_dir / 'preds.pkl')], work_dir / 'test.log')
    assert code == 0, log[-3000:]
    return log, work_dir


def test_test_tool_prints_full_coco_tables(plain_test):
    log, work_dir = plain_test
    assert 'Average Recall     (AR) @[ IoU=0.50:0.95 | area= small' in log
    table = log[log.index('Test metrics of'):]
    for item in COCO_ITEMS:
        assert f'coco/bbox_{item}' in table
    assert (work_dir / 'preds.pkl').is_file()


@pytest.mark.parametrize('flag, says', [
    # folds every BN of the detector after the checkpoint is loaded
    ('--fuse-conv-bn', 'BatchNorm folded into the convs'),
    # replaces the backbone by res2net_mm.deploy of it, on the first batch
    ('--deploy', 'deployed on its first batch (--deploy)')])
def test_test_tool_treatments_give_the_same_metrics(flag, says, plain_test, interrupted_run,
                                                    tiny_config, tmp_path):
    """The metrics and the predictions (boxes, scores, labels) of a treated
    model are those of the model as it is. The 2-iteration detector's
    metrics are all ~0, so the predictions are what can tell them apart."""
    plain_log, plain_dir = plain_test
    code, log = run([sys.executable, 'tools/test.py', str(tiny_config),
                     str(interrupted_run / 'iter_2.pth'), '--work-dir', str(tmp_path), flag,
                     '--out', str(tmp_path / 'preds.pkl')], tmp_path / 'test.log')
    assert code == 0, log[-3000:]
    assert says in log and says not in plain_log
    assert log[log.index('Test metrics of'):] == plain_log[plain_log.index('Test metrics of'):]
    plain, treated = (load(str(d / 'preds.pkl')) for d in (plain_dir, tmp_path))
    assert len(plain) == len(treated) > 0
    boxes = 0
    for a, b in zip(plain, treated, strict=True):
        assert a['img_id'] == b['img_id']
        a, b = a['pred_instances'], b['pred_instances']
        torch.testing.assert_close(b['scores'], a['scores'], rtol=1e-3, atol=1e-4)
        torch.testing.assert_close(b['bboxes'], a['bboxes'], rtol=1e-3, atol=1e-2)
        assert torch.equal(b['labels'], a['labels'])
        boxes += len(a['scores'])
    assert boxes > 0


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def test_two_process_training_keeps_replicas_identical(tiny_config, tmp_path):
    code, log = run(['bash', 'tools/dist_train.sh', str(tiny_config), '2', '--work-dir',
                     str(tmp_path)] + SCRATCH + ['train_cfg.max_iters=2',
                                                 'default_hooks.checkpoint.interval=-1',
                                                 'default_hooks.checkpoint.save_last=False'],
                    tmp_path / 'dist.log', env=dict(PYTHON=sys.executable, PORT=_free_port()))
    assert code == 0, log[-3000:]
    assert 'Distributed training: True' in log and 'Iter(train) [2/2]' in log
    digests = [(tmp_path / f'param_digest_rank{r}.txt').read_text() for r in (0, 1)]
    assert digests[0] == digests[1]


def _fake_command(tmp_path, name):
    """An executable ``name`` that writes its arguments, one per line."""
    fake = tmp_path / name
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/{name}.args\n')
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_slurm_scripts_call_srun(tool, tmp_path):
    _fake_command(tmp_path, 'srun')
    env = dict(PATH=f'{tmp_path}:{os.environ["PATH"]}', GPUS='4', GPUS_PER_NODE='2',
               SRUN_ARGS='--quotatype=auto')
    fourth = 'WORK' if tool == 'train' else 'CKPT'
    code, log = run(['bash', f'tools/slurm_{tool}.sh', 'part', 'job', 'CFG', fourth, '--x'],
                    tmp_path / 'log', env=env)
    assert code == 0, log
    args = (tmp_path / 'srun.args').read_text().split('\n')
    assert args[:2] == ['-p', 'part'] and '--job-name=job' in args
    assert '--ntasks=4' in args and '--ntasks-per-node=2' in args and '--quotatype=auto' in args
    tail = args[args.index(f'tools/{tool}.py') + 1:]
    expected = ['CFG', '--work-dir=WORK'] if tool == 'train' else ['CFG', 'CKPT']
    assert tail[:len(expected)] == expected and '--launcher=slurm' in tail and '--x' in tail


def test_dist_test_script_calls_torchrun(tmp_path):
    fake = _fake_command(tmp_path, 'python')
    code, log = run(['bash', 'tools/dist_test.sh', 'CFG', 'CKPT', '3', '--out', 'p.pkl'],
                    tmp_path / 'log', env=dict(PYTHON=str(fake), NNODES='2', NODE_RANK='1',
                                               MASTER_ADDR='10.0.0.1', PORT='1234'))
    assert code == 0, log
    args = (tmp_path / 'python.args').read_text().split('\n')
    assert args[:2] == ['-m', 'torch.distributed.run']
    for option in ('--nnodes=2', '--node_rank=1', '--master_addr=10.0.0.1',
                   '--nproc_per_node=3', '--master_port=1234'):
        assert option in args
    assert args[-7:-1] == ['CFG', 'CKPT', '--launcher', 'pytorch', '--out', 'p.pkl']
