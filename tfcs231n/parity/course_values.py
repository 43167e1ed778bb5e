"""Known answers published in the CS231n assignment 3 notebooks, as plain data (the grader of
`tfcs231n assignment check` and the tests read them).

Each case gives the notebook's inputs and the expected outputs it prints.
Inputs are either ``(lo, hi, shape)``, meaning
``np.linspace(lo, hi, num=prod(shape)).reshape(shape)`` exactly as the notebooks
build them, or literal integer arrays. Expected arrays are the notebooks'
literals, rounded there to 8 decimals (losses to 11).

Sources (public copies of the course notebooks, read through the search tool;
each value was found identical in both copies named for it):
  RNN_Captioning.ipynb
    FengRanfi/assignment3_cs231n_2024  RNN_Captioning.ipynb  (2024 release)
    Snak0067/cs231n_2022_assignment3   assignment3/RNN_Captioning.ipynb  (2022)
  LSTM_Captioning.ipynb
    FengRanfi/assignment3_cs231n_2024  LSTM_Captioning.ipynb  (2024 release)
    0809zheng/CS231n-assignment2019    assignment3/LSTM_Captioning.ipynb  (2019)
  GANs: the course's GAN loss checks read their logits and answers from
    gan-checks-tf.npz / gan-checks.npz, which no public copy stores as text. The same
    arrays, under the course's key names, are written out as literals in the helper of a
    public student copy of UMich EECS 498-007 (the CS231n-derived course), found through
    the search tool's code index (one copy; its repository is not named there). They
    agree with the course's loss definitions to 1.6e-9 relative, the size that rounding
    the logits to 8 decimals explains; tests/test_gan.py checks exactly that bound.
"""

import numpy as np

# RNN_Captioning.ipynb, "Vanilla RNN: Step Forward" (N, D, H = 3, 10, 4).
RNN_STEP_FORWARD = {
    "inputs": {
        "x": (-0.4, 0.7, (3, 10)),
        "prev_h": (-0.2, 0.5, (3, 4)),
        "Wx": (-0.1, 0.9, (10, 4)),
        "Wh": (-0.3, 0.7, (4, 4)),
        "b": (-0.2, 0.4, (4,)),
    },
    "expected": {
        "next_h": [
            [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
            [0.66854692, 0.79562378, 0.87755553, 0.92795967],
            [0.97934501, 0.99144213, 0.99646691, 0.99854353],
        ],
    },
}

# RNN_Captioning.ipynb, "Vanilla RNN: Forward" (N, T, D, H = 2, 3, 4, 5).
RNN_FORWARD = {
    "inputs": {
        "x": (-0.1, 0.3, (2, 3, 4)),
        "h0": (-0.3, 0.1, (2, 5)),
        "Wx": (-0.2, 0.4, (4, 5)),
        "Wh": (-0.4, 0.1, (5, 5)),
        "b": (-0.7, 0.1, (5,)),
    },
    "expected": {
        "h": [
            [
                [-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
                [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
                [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525],
            ],
            [
                [-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
                [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
                [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043],
            ],
        ],
    },
}

# RNN_Captioning.ipynb, "Word Embedding: Forward" (N, T, V, D = 2, 4, 5, 3).
WORD_EMBEDDING_FORWARD = {
    "inputs": {
        "x": [[0, 3, 1, 2], [2, 1, 0, 3]],
        "W": (0, 1, (5, 3)),
    },
    "expected": {
        "out": [
            [
                [0.0, 0.07142857, 0.14285714],
                [0.64285714, 0.71428571, 0.78571429],
                [0.21428571, 0.28571429, 0.35714286],
                [0.42857143, 0.5, 0.57142857],
            ],
            [
                [0.42857143, 0.5, 0.57142857],
                [0.21428571, 0.28571429, 0.35714286],
                [0.0, 0.07142857, 0.14285714],
                [0.64285714, 0.71428571, 0.78571429],
            ],
        ],
    },
}

# LSTM_Captioning.ipynb, "LSTM: Step Forward" (N, D, H = 3, 4, 5).
LSTM_STEP_FORWARD = {
    "inputs": {
        "x": (-0.4, 1.2, (3, 4)),
        "prev_h": (-0.3, 0.7, (3, 5)),
        "prev_c": (-0.4, 0.9, (3, 5)),
        "Wx": (-2.1, 1.3, (4, 20)),
        "Wh": (-0.7, 2.2, (5, 20)),
        "b": (0.3, 0.7, (20,)),
    },
    "expected": {
        "next_h": [
            [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
            [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
            [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299],
        ],
        "next_c": [
            [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
            [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
            [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676],
        ],
    },
}

# LSTM_Captioning.ipynb, "LSTM: Forward" (N, D, H, T = 2, 5, 4, 3).
LSTM_FORWARD = {
    "inputs": {
        "x": (-0.4, 0.6, (2, 3, 5)),
        "h0": (-0.4, 0.8, (2, 4)),
        "Wx": (-0.2, 0.9, (5, 16)),
        "Wh": (-0.3, 0.6, (4, 16)),
        "b": (0.2, 0.7, (16,)),
    },
    "expected": {
        "h": [
            [
                [0.01764008, 0.01823233, 0.01882671, 0.0194232],
                [0.11287491, 0.12146228, 0.13018446, 0.13902939],
                [0.31358768, 0.33338627, 0.35304453, 0.37250975],
            ],
            [
                [0.45767879, 0.4761092, 0.4936887, 0.51041945],
                [0.6704845, 0.69350089, 0.71486014, 0.7346449],
                [0.81733511, 0.83677871, 0.85403753, 0.86935314],
            ],
        ],
    },
}

# The captioning checks (N, D, W, H = 10, 20, 30, 40; T = 13) build
# CaptioningRNN(word_to_idx={'<NULL>': 0, 'cat': 2, 'dog': 3}) and set every
# parameter to np.linspace(-1.4, 1.3, num=v.size).reshape(v.shape). The
# parameter shapes below are those of the course's CaptioningRNN
# (cs231n/classifiers/rnn.py), with V = len(word_to_idx) = 3 and the
# recurrent weights 4H wide for the LSTM. Captions are
# (np.arange(N * T) % V).reshape(N, T), written out; <NULL> is index 0.
_CAPTIONS = [
    [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
    [1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1],
    [2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
    [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
    [1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1],
    [2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
    [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
    [1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1],
    [2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
    [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
]


# RNN_Captioning.ipynb, "RNN for Image Captioning".
CAPTIONING_RNN_LOSS = {
    "cell_type": "rnn",
    "null_index": 0,
    "inputs": {
        "features": (-1.5, 0.3, (10, 20)),
        "captions": _CAPTIONS,
        "W_proj": (-1.4, 1.3, (20, 40)),
        "b_proj": (-1.4, 1.3, (40,)),
        "W_embed": (-1.4, 1.3, (3, 30)),
        "Wx": (-1.4, 1.3, (30, 40)),
        "Wh": (-1.4, 1.3, (40, 40)),
        "b": (-1.4, 1.3, (40,)),
        "W_vocab": (-1.4, 1.3, (40, 3)),
        "b_vocab": (-1.4, 1.3, (3,)),
    },
    "expected": {"loss": 9.83235591003},
}

# LSTM_Captioning.ipynb, "LSTM Captioning Model"; note the different features.
CAPTIONING_LSTM_LOSS = {
    "cell_type": "lstm",
    "null_index": 0,
    "inputs": {
        "features": (-0.5, 1.7, (10, 20)),
        "captions": _CAPTIONS,
        "W_proj": (-1.4, 1.3, (20, 40)),
        "b_proj": (-1.4, 1.3, (40,)),
        "W_embed": (-1.4, 1.3, (3, 30)),
        "Wx": (-1.4, 1.3, (30, 160)),
        "Wh": (-1.4, 1.3, (40, 160)),
        "b": (-1.4, 1.3, (160,)),
        "W_vocab": (-1.4, 1.3, (40, 3)),
        "b_vocab": (-1.4, 1.3, (3,)),
    },
    "expected": {"loss": 9.82445935443},
}


# GANs.ipynb, "Discriminator Loss", "Generator Loss" and "Least Squares GAN" checks
# (answers['logits_real'], answers['logits_fake'], answers['d_loss_true'], ...).
GAN_LOSSES = {
    "inputs": {
        "logits_real": [0.93487311, -1.01698916, -0.57304769, -0.88162704, -1.40129389,
                        -1.45395693, -1.54239755, -0.57273325, 0.98584429, 0.13312152],
        "logits_fake": [-1.80865868, 0.09030055, -0.4428902, -0.07879368, -0.37655044,
                        0.32084742, -0.28590837, 1.01376281, 0.99241439, 0.39394346],
    },
    "expected": {
        "d_loss": 1.8423983904443109,
        "g_loss": 0.771286196423346,
        "ls_d_loss": 1.8770293614440594,
        "ls_g_loss": 0.816954786997558,
    },
}


def make_inputs(case):
    """Build a case's inputs: float64 arrays from linspace specs, int arrays from literals."""
    inputs = {}
    for name, spec in case["inputs"].items():
        if isinstance(spec, tuple):
            lo, hi, shape = spec
            inputs[name] = np.linspace(lo, hi, num=int(np.prod(shape))).reshape(shape)
        else:
            inputs[name] = np.asarray(spec, dtype=np.int64)
    return inputs
