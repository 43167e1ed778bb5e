"""Style transfer and feature inversion (the course's StyleTransfer), as the data flows:

- `images`: files, arrays and shipped photos in (and the content per scale), colour
  preservation out;
- `backbones`: the feature extractors (SqueezeNet, VGG-19, the offline VGG-16);
- `losses`: content, Gram-matrix style and total-variation losses, written once;
- `optimize`: `StyleConfig` (every setting of a run) and `style_transfer`, the image
  optimisation (Adam schedule or L-BFGS), which passes the image through the four in order;
- `presets`: named `StyleConfig`s (the course's, d2l's, Gatys et al.'s, the offline one).
"""
