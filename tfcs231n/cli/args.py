"""Command implementations behind `tfcs231n.cli`; each module adds one subcommand's parser."""

import argparse


def at_least_one(text):
    """argparse type: an integer >= 1, refused with a one-line usage error otherwise."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return int(text)


def random_seed(text):
    """argparse type: a random seed, 0 <= seed < 2**32 (what NumPy and Keras accept)."""
    if not text.isdigit() or int(text) >= 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**32 - 1, got {text!r}")
    return int(text)


def at_least_zero(text):
    """argparse type: an integer >= 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return int(text)


def workers_arg(parser):
    """`--workers N`: N local worker processes under MultiWorkerMirroredStrategy."""
    parser.add_argument(
        "--workers", type=at_least_one, metavar="N",
        help="train with N local worker processes (MultiWorkerMirroredStrategy, a trial of "
             "multi-host training; on real hosts set TF_CONFIG on each instead, see README); "
             "the global batch stays --batch-size")


def run_workers(args):
    """Re-runs this command as `args.workers` local workers; returns the exit status."""
    import sys

    from tfcs231n import distribute

    if args.workers < 2:
        raise ValueError(f"--workers must be at least 2 for a multi-worker run, got "
                         f"{args.workers}")
    argv = list(args.argv)
    if "--workers" in argv:  # "--workers N"
        i = argv.index("--workers")
        del argv[i:i + 2]
    argv = [a for a in argv if not a.startswith("--workers=")]
    codes = distribute.run_local_workers(argv, args.workers)
    failed = [i for i, c in enumerate(codes) if c]
    if failed:
        print(f"workers {failed} failed (exit codes {[codes[i] for i in failed]}); the "
              "others were stopped. Run again with --resume to continue from the last "
              "checkpoint.", file=sys.stderr)
        return 1
    return 0


def positive_float(text):
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def note_fresh_start(resume, checkpoint_dir):
    """`--resume` with no checkpoint in `checkpoint_dir` starts from scratch, and says so
    (a typo in --out would otherwise retrain silently)."""
    if not resume:
        return
    from tfcs231n._io import AtomicCheckpointer

    if not AtomicCheckpointer(checkpoint_dir).checkpoints():
        print(f"no checkpoint in {checkpoint_dir}; starting from scratch", flush=True)
