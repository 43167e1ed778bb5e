"""Command implementations behind `tfcs231n.cli`; each module adds one subcommand's parser."""

import argparse


def at_least_one(text):
    """argparse type: an integer >= 1, refused with a one-line usage error otherwise."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return int(text)
