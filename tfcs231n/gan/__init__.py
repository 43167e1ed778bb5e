"""Generative adversarial networks (the course's GANs notebook), in the order taught:

- `losses`: the vanilla and least-squares GAN losses, and WGAN-GP's (gradient penalty);
- `models`: the course's networks, WGAN-GP's critic, `sample_noise`, and the `GAN` Keras model;
- `training`: `train` / `run_a_gan` (through `GAN.fit`) with checkpoints, resume and grids;
- `metrics`: Fréchet distance and inception-style score from a small digit classifier;
- `weights`: PyTorch state dicts into the Keras networks.
"""
