"""PaddleClas's own Res2Net_vd as the reference for our .pdparams reader.

Run by tests/references/test_paddle.py with the Python of the PaddlePaddle environment
(``.venv-paddle``, made by tools/install.sh): builds PaddleClas's
Res2Net50_vd_26w_4s with random weights (BN statistics and affine included),
saves them with ``paddle.save`` as ``model.pdparams``, and its logits on a
fixed input as ``logits.npy`` (input: ``input.npy``); writes the parameter
shapes of Res2Net200_vd_26w_4s (no weights) to ``res2net200_shapes.json``.

Usage: python tests/references/paddle_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import paddle
from paddleclas import Res2Net50_vd_26w_4s, Res2Net200_vd_26w_4s


def randomize(model, rng):
    """Every parameter and BN statistic random (variances positive)."""
    state = {}
    for name, value in model.state_dict().items():
        shape = value.shape
        if name.endswith('_variance'):
            array = rng.uniform(0.5, 1.5, shape)
        elif name.endswith('_batch_norm.weight'):
            array = rng.uniform(0.5, 1.0, shape)
        elif name.endswith(('_mean', '_batch_norm.bias')):
            array = rng.normal(0, 0.1, shape)
        else:  # conv and linear weights, fan-in scaled
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            if name == 'out.weight':
                fan_in = shape[0]
            array = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        state[name] = paddle.to_tensor(array.astype('float32'))
    model.set_state_dict(state)


def main(out_dir):
    rng = np.random.default_rng(0)
    paddle.set_device('cpu')
    model = Res2Net50_vd_26w_4s()
    randomize(model, rng)
    model.eval()
    paddle.save(model.state_dict(), os.path.join(out_dir, 'model.pdparams'))
    # Odd sizes: ceil-mode and border handling of every pool are exercised.
    image = rng.normal(0, 1, (2, 3, 97, 83)).astype('float32')
    with paddle.no_grad():
        logits = model(paddle.to_tensor(image)).numpy()
    np.save(os.path.join(out_dir, 'input.npy'), image)
    np.save(os.path.join(out_dir, 'logits.npy'), logits)
    with paddle.utils.unique_name.guard():  # its parameters reuse the names of the first
        shapes = {k: list(v.shape) for k, v in Res2Net200_vd_26w_4s().state_dict().items()}
    with open(os.path.join(out_dir, 'res2net200_shapes.json'), 'w') as f:
        json.dump(shapes, f)


if __name__ == '__main__':
    main(sys.argv[1])
