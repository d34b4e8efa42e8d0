"""res2net_mm.RandomStateHook with both of mmengine's training loops, on a toy
model whose data transform draws from numpy and whose forward draws from
torch (dropout): resuming the checkpoint an uninterrupted run saved midway
ends with its exact weights, also with a validation (which draws from torch
when it starts its data loader) right after the checkpoint.
The end-to-end test (tools/train.py killed with SIGKILL) is in test_tools.py.
"""
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from res2net_mm.checkpoint import allow_runner_checkpoints
from res2net_mm.engine.hooks import get_rng_states, set_rng_states


class NoisyData(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        x = torch.full((4, ), float(i)) + torch.from_numpy(np.random.randn(4)).float()
        return dict(inputs=x, target=torch.tensor([float(i % 2)]))


class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, target, mode='tensor'):
        out = self.linear(nn.functional.dropout(torch.stack(inputs), 0.5, self.training))
        if mode == 'loss':
            return dict(loss=((out - torch.stack(target))**2).mean())
        return [dict(out=o) for o in out]


class Count(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results += [0] * len(data_samples)

    def compute_metrics(self, results):
        return dict(count=len(results))


LOOPS = {  # (train_cfg, checkpoint hook, checkpoint to resume, last checkpoint)
    'iteration-based': (dict(type='IterBasedTrainLoop', max_iters=6, val_interval=3),
                        dict(by_epoch=False, interval=3), 'iter_3.pth', 'iter_6.pth'),
    'epoch-based': (dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=2),
                    dict(by_epoch=True, interval=2), 'epoch_2.pth', 'epoch_4.pth'),
}


def train(work_dir, loop, hooks, resume_from=None):
    train_cfg, checkpoint, _, _ = LOOPS[loop]
    loader = dict(dataset=NoisyData(), batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=True),
                  collate_fn=dict(type='pseudo_collate'))
    runner = Runner(
        model=Toy(), work_dir=str(work_dir), train_dataloader=loader, train_cfg=train_cfg,
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_cfg=dict(), val_evaluator=Evaluator(Count()),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', **checkpoint)),
        custom_hooks=hooks, randomness=dict(seed=1), resume=resume_from is not None,
        load_from=resume_from, experiment_name=f'{loop}-{work_dir.name}')
    runner.train()
    allow_runner_checkpoints()
    return torch.load(work_dir / LOOPS[loop][3])['state_dict']


@pytest.mark.parametrize('loop', LOOPS)
def test_resumed_training_ends_with_the_uninterrupted_weights(loop, tmp_path):
    hook = [dict(type='res2net_mm.RandomStateHook')]
    whole = train(tmp_path / 'whole', loop, hook)
    midway = str(tmp_path / 'whole' / LOOPS[loop][2])
    resumed = train(tmp_path / 'resumed', loop, hook, resume_from=midway)
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    # Without the hook the same resume draws other random numbers.
    plain = train(tmp_path / 'plain', loop, [], resume_from=midway)
    assert not all(torch.equal(whole[k], plain[k]) for k in whole)


def test_states_round_trip_through_a_weights_only_load(tmp_path):
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    torch.save(dict(rng_states=get_rng_states()), tmp_path / 'states.pth')
    expected = torch.rand(3), np.random.rand(3), random.random()
    set_rng_states(torch.load(tmp_path / 'states.pth', weights_only=True)['rng_states'])
    drawn = torch.rand(3), np.random.rand(3), random.random()
    assert torch.equal(drawn[0], expected[0]) and (drawn[1] == expected[1]).all()
    assert drawn[2] == expected[2]
