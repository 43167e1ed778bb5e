"""Generative adversarial networks (the course's GANs notebook), in the order taught:

- `losses`: the vanilla and least-squares GAN losses;
- `models`: the course's networks, `sample_noise`, and the `GAN` Keras model;
- `training`: `train` / `run_a_gan` with checkpoints, resume and sample grids;
- `metrics`: Fréchet distance and inception-style score from a small digit classifier;
- `weights`: PyTorch state dicts into the Keras networks.
"""
