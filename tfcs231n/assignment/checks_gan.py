"""The GAN checks: losses and leaky ReLU through the tape against `torchref.gan`; the
networks with `torchref.gan`'s weights copied in (outputs and input gradients, float64);
the noise and the optimizers by their defining properties.
"""


import numpy as np
import tensorflow as tf

from tfcs231n.assignment import mistakes
from tfcs231n.assignment.checks_vision import tape_case
from tfcs231n.assignment.judge import Case, Tolerance
from tfcs231n.parity import course_values as cv
from tfcs231n.parity.engine import Row, floatx

BATCHES = [16, 1, 7]
NOISE_DIM = 8  # small networks; the architecture does not depend on it
# The course's answers come from logits rounded to 8 places: 1.6e-9 relative at most
# (tfcs231n/parity/course_values.py).
PUBLISHED = Tolerance(course_rel=2e-9)
_LOSS_ARGS = {"discriminator_loss": ("logits_real", "logits_fake"),
              "generator_loss": ("logits_fake",), "ls_discriminator_loss":
              ("logits_real", "logits_fake"), "ls_generator_loss": ("logits_fake",)}
_ANSWERS = {"discriminator_loss": "d_loss", "generator_loss": "g_loss",
            "ls_discriminator_loss": "ls_d_loss", "ls_generator_loss": "ls_g_loss"}


def loss_cases(name, student):
    from torchref import gan as ref

    args = _LOSS_ARGS[name]
    for seed, n in enumerate(BATCHES):
        rng = np.random.default_rng(seed)
        inputs = {a: 5.0 * rng.standard_normal((n, 1)) for a in args}
        yield tape_case(f"N{n}", lambda **t: student(*t.values()),
                        lambda **t: getattr(ref, name)(*t.values()), inputs, args, "loss", seed,
                        [(cause, lambda fn=fn, **t: fn(*t.values()))
                         for cause, fn in mistakes.GAN_LOSSES[name].items()])
    logits = {k: np.asarray(v, np.float64)[:, None] for k, v in cv.GAN_LOSSES["inputs"].items()}
    got = student(*(tf.constant(logits[a]) for a in args))
    yield Case("course values", {"loss": got},
               {"loss": np.asarray(cv.GAN_LOSSES["expected"][_ANSWERS[name]])}, PUBLISHED)


def leaky_relu_cases(student):
    import torch.nn.functional as F

    for seed, n in enumerate(BATCHES):
        inputs = {"x": np.random.default_rng(seed).standard_normal((n, 17))}
        yield tape_case(f"N{n}", lambda x: student(x), lambda x: F.leaky_relu(x, 0.01),
                        inputs, ("x",), "out", seed, list(mistakes.LEAKY_RELU.items()))
    inputs = {"x": np.random.default_rng(9).standard_normal((5, 3))}
    yield tape_case("alpha=0.2", lambda x: student(x, 0.2), lambda x: F.leaky_relu(x, 0.2),
                    inputs, ("x",), "out", 9)


def _row(name, ok, problem, actual=np.nan, desired=np.nan):
    return Row(name, (), actual=actual, desired=desired, ok=ok, problem="" if ok else problem)


def _property_case(label, checks):
    """checks: [(name, ok, problem[, actual, desired])] -> a Case judged by them."""
    return Case(label, {}, {}, verdicts=[_row(*c) for c in checks])


def sample_noise_cases(student):
    for shape in [(7, 5), (1, 96), (500, 4)]:
        z = np.asarray(student(*shape))
        ok_shape = z.shape == shape
        z = z.astype(np.float64)
        checks = [("shape", ok_shape, f"shape {z.shape} != {shape}")]
        if ok_shape:
            checks.append(("range", bool(np.all((z >= -1) & (z <= 1))),
                           f"values outside [-1, 1] (min {z.min():.3g}, max {z.max():.3g})"))
            if z.size >= 1000:
                checks.append(("uniform on [-1, 1]", z.min() < -0.95 and z.max() > 0.95
                               and abs(z.mean()) < 0.1, f"min {z.min():.3g}, max "
                               f"{z.max():.3g}, mean {z.mean():.3g}: not uniform on [-1, 1]"))
            checks.append(("random", len(np.unique(z)) > 1, "all values equal"))
        yield _property_case(f"{shape}", checks)


def get_solvers_cases(student):
    D, G = student()
    checks = [("two optimizers", D is not G, "the same optimizer object twice")]
    for name, opt in (("D_solver", D), ("G_solver", G)):
        lr, beta1 = float(opt.learning_rate), float(getattr(opt, "beta_1", np.nan))
        # Keras keeps hyper-parameters in float32: equal to 6 digits.
        checks += [(f"{name}.learning_rate", abs(lr - 1e-3) < 1e-9,
                    f"learning rate {lr:g}, expected 0.001"),
                   (f"{name}.beta_1", abs(beta1 - 0.5) < 1e-6,
                    f"beta_1 {beta1:g}, expected 0.5 (Adam)")]
    yield _property_case("course settings", checks)


_NETWORKS = {"discriminator": ("discriminator", 784), "generator": ("generator", NOISE_DIM),
             "dc_discriminator": ("dc_discriminator", 784),
             "dc_generator": ("dc_generator", NOISE_DIM)}


def _torch_net(name, mutate=None):
    import torch
    from torchref import gan as ref

    torch.manual_seed(0)
    net = getattr(ref, name)(*([NOISE_DIM] if "generator" in name else []))
    if mutate:
        net = mutate(net)
    return net.double().eval()


def _without_tanh(net):
    import torch

    layers = list(net)
    i = max(k for k, m in enumerate(layers) if isinstance(m, torch.nn.Tanh))
    return torch.nn.Sequential(*layers[:i], *layers[i + 1:])


def _slope(s):
    def mutate(net):
        import torch

        for m in net.modules():
            if isinstance(m, torch.nn.LeakyReLU):
                m.negative_slope = s
        return net
    return mutate


def network_cases(name, student):
    """Parameter count, then the torch reference's weights copied into the student's model:
    outputs and input gradients in inference mode, on a batch of 5 and a batch of 1."""
    from tfcs231n.gan.weights import load_torch_state
    from torchref.gan import count_params

    ref_name, in_dim = _NETWORKS[name]
    ref = _torch_net(ref_name)
    with floatx("float64"):
        model = student(NOISE_DIM) if "generator" in name else student()
    count = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    want = count_params(ref)
    yield _property_case("parameters", [("trainable parameters", count == want,
                                          f"{count} trainable parameters, expected {want}",
                                          count, want)])
    state = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    try:
        load_torch_state(model, state)
    except ValueError as e:
        raise ValueError(f"the layers do not match the course's architecture: {e}") from e
    mutations = {"leaky ReLU slope 0.1 instead of 0.01": _slope(0.1),
                 "leaky ReLU slope 0.2 instead of 0.01": _slope(0.2)}
    if "generator" in name:
        mutations = {"missing tanh on the generator's output": _without_tanh}
    for seed, n in enumerate([5, 1]):
        rng = np.random.default_rng(seed)
        inputs = {"x": rng.uniform(-1, 1, (n, in_dim))}

        def wrong(mutate):
            net = _torch_net(ref_name, mutate)
            return lambda x: net(x)
        yield tape_case(f"N{n}", lambda x: model(x, training=False), lambda x: ref(x),
                        inputs, ("x",), "out", seed,
                        [(cause, wrong(m)) for cause, m in mutations.items()])


def cases(name, modules):
    (module,) = modules.values()
    student = getattr(module, name)
    if name in _LOSS_ARGS:
        return loss_cases(name, student)
    if name in _NETWORKS:
        return network_cases(name, student)
    return {"leaky_relu": leaky_relu_cases, "sample_noise": sample_noise_cases,
            "get_solvers": get_solvers_cases}[name](student)
