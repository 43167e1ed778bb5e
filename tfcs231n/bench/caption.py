"""`tfcs231n bench caption`: one LSTM captioner training step, TF against the reference."""

import numpy as np


def workload():
    """One Adam training step of the course's LSTM captioner.

    N=50 captions of T=16 steps (17 tokens), D=512, W=256, H=512, V=1004.

    Returns:
        (flops per step, {variant: zero-argument callable that runs one step}).
    """
    import tensorflow as tf
    import torch

    from torchref import captioning as ref
    from tfcs231n.captioning.model import CaptioningRNN
    from tfcs231n.captioning.solver import train_step

    N, T, D, W, H, V = 50, 16, 512, 256, 512, 1004
    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    rng = np.random.default_rng(0)
    features = rng.standard_normal((N, D)).astype(np.float32)
    captions = rng.integers(3, V, (N, T + 1)).astype(np.int32)
    captions[:, 0] = 1

    model = CaptioningRNN(vocab, D, W, H, cell_type="lstm", seed=0)
    tf_features, tf_captions = tf.constant(features), tf.constant(captions)

    def tf_variant(compile_kind):
        import keras

        optimizer = keras.optimizers.Adam(1e-4)
        optimizer.build(model.trainable_variables)

        def step():
            return train_step(model, optimizer, tf_features, tf_captions)

        if compile_kind == "function":
            step = tf.function(step)
        elif compile_kind == "xla":
            step = tf.function(step, jit_compile=True)
        return lambda: step().numpy()

    torch_model = ref.TorchCaptioningRNN(vocab, D, W, H, cell_type="lstm", dtype=torch.float32)
    torch_model.load_params({k: v.numpy() for k, v in model.params.items()})
    torch_opt = torch.optim.Adam(torch_model.parameters(), lr=1e-4)
    t_features, t_captions = torch.from_numpy(features), torch.from_numpy(captions).long()

    forward = 2 * (N * D * H + N * T * (W * 4 * H + H * 4 * H + H * V))  # the matmuls
    flops = 3 * forward  # backward costs about twice the forward
    return flops, {
        "tf-eager": tf_variant("eager"),
        "tf-function": tf_variant("function"),
        "tf-xla": tf_variant("xla"),
        "pytorch": lambda: ref.train_step(torch_model, torch_opt, t_features, t_captions),
    }
