"""Style transfer and feature inversion (the course's StyleTransfer), as the data flows:

- `images`: files, arrays and shipped photos in, colour preservation out;
- `backbones`: the feature extractors (SqueezeNet, VGG-19, the offline VGG-16);
- `losses`: content, Gram-matrix style and total-variation losses, written once;
- `optimize`: `style_transfer`, the image optimisation (Adam schedule or L-BFGS);
- `presets`: named set-ups (the course's, d2l's, Gatys et al.'s, the offline one).
"""
