"""The assignment's sections: the course modules they hand out and the functions students
write, each with the notebook section that teaches it.

The functions are the ones the course's own handout leaves for students (its "TODO" blocks),
plus `temporal_softmax_loss`, whose batch mean is a classic slip worth grading. Their bodies
are marked in `tfcs231n/course/*.py` with nbgrader's ``### BEGIN SOLUTION`` /
``### END SOLUTION``; `build` stubs exactly those regions.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Function:
    """A function students write.

    name: the grader's name (``CaptioningRNN.loss`` for a method). module: the course module
    path under the package root (``rnn_layers.py``). heading: the notebook heading of the
    section whose cells check it.
    """

    name: str
    module: str
    heading: str


@dataclasses.dataclass(frozen=True)
class Section:
    name: str
    notebook: str
    title: str
    functions: tuple


def _functions(module, *pairs):
    return tuple(Function(name, module, heading) for name, heading in pairs)


SECTIONS = {
    "captioning": Section("captioning", "Captioning.ipynb", "RNN and LSTM captioning", (
        *_functions(
            "rnn_layers.py",
            ("rnn_step_forward", "Vanilla RNN"), ("rnn_step_backward", "Vanilla RNN"),
            ("rnn_forward", "Vanilla RNN"), ("rnn_backward", "Vanilla RNN"),
            ("word_embedding_forward", "Word embedding"),
            ("word_embedding_backward", "Word embedding"),
            ("temporal_softmax_loss", "Temporal softmax loss"),
            ("lstm_step_forward", "LSTM"), ("lstm_step_backward", "LSTM"),
            ("lstm_forward", "LSTM"), ("lstm_backward", "LSTM"),
        ),
        *_functions("classifiers/rnn.py",
                    ("CaptioningRNN.loss", "Captioning model"),
                    ("CaptioningRNN.sample", "Captioning model")),
    )),
    "visualization": Section(
        "visualization", "NetworkVisualization.ipynb", "Network visualization",
        _functions("net_visualization_tensorflow.py",
                   ("compute_saliency_maps", "Saliency maps"),
                   ("make_fooling_image", "Fooling images"),
                   ("class_visualization_update_step", "Class visualization"))),
    "style": Section("style", "StyleTransfer.ipynb", "Style transfer", _functions(
        "style_transfer_tensorflow.py",
        ("content_loss", "Content loss"), ("gram_matrix", "Style loss"),
        ("style_loss", "Style loss"), ("tv_loss", "Total-variation loss"))),
    "gan": Section("gan", "GANs.ipynb", "Generative adversarial networks", _functions(
        "gan_tf.py",
        ("leaky_relu", "Discriminator"), ("sample_noise", "Random noise"),
        ("discriminator", "Discriminator"), ("generator", "Generator"),
        ("discriminator_loss", "GAN losses"), ("generator_loss", "GAN losses"),
        ("get_solvers", "Optimizers"),
        ("ls_discriminator_loss", "Least-squares GAN"),
        ("ls_generator_loss", "Least-squares GAN"),
        ("dc_discriminator", "Deep convolutional GAN"),
        ("dc_generator", "Deep convolutional GAN"))),
}

PACKAGE = "cs231n"  # the handout's package name: the course's, so its notebooks import it


def parse_sections(text):
    """"captioning,gan" -> ["captioning", "gan"] in the registry's order; all when None."""
    if text is None:
        return list(SECTIONS)
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown or not names:
        raise ValueError(f"sections must be a comma-separated subset of "
                         f"{','.join(SECTIONS)}, got {text!r}")
    return [s for s in SECTIONS if s in names]


def functions(sections=None):
    """Every `Function` of the given sections (all by default), in order."""
    return [f for s in (sections or list(SECTIONS)) for f in SECTIONS[s].functions]


def find(name):
    """The `Function` called `name`; ValueError naming the known ones otherwise."""
    for f in functions():
        if f.name == name:
            return f
    raise ValueError(f"function must be one of the students' functions "
                     f"({', '.join(f.name for f in functions())}), got {name!r}")
