"""The `tfcs231n` console command.

Subcommands import their modules lazily: `tfcs231n --help` should not wait for TensorFlow.
"""

import argparse
import contextlib
import json
import os
import sys

from tfcs231n.bench import runner as bench  # imports TensorFlow only when a workload runs
from tfcs231n.cli import assignment as assignment_command
from tfcs231n.cli import caption, console, demo, vis
from tfcs231n.cli import finetune as finetune_command
from tfcs231n.cli import gan as gan_command
from tfcs231n.cli import style as style_command
from tfcs231n.cli.args import at_least_one, random_seed


def _parity(args):
    from tfcs231n.parity import engine as parity
    from tfcs231n.parity import cases as parity_cases

    dtypes = ["float64", "float32"] if args.dtype == "all" else [args.dtype]
    reports = [
        case.run(dtype, seed=args.seed)
        for case in parity_cases.cases(args.module)
        for dtype in dtypes
    ]
    print(parity.format_table(reports))
    failed = [r for r in reports if not r.ok]
    print(f"\n{len(reports) - len(failed)} passed, {len(failed)} failed")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([r.to_dict() for r in reports], f, indent=1)
    return 1 if failed else 0


def _bench(args):
    names = list(bench.WORKLOADS) if args.workload == "all" else [args.workload]
    variants = bench.VARIANTS if args.variants is None else args.variants.split(",")
    result = bench.run(names, repeats=args.repeats, quick=args.quick, variants=variants)
    print(bench.format_report(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(bench.to_json(result), f, indent=1)
    return 1 if result.failed else 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfcs231n",
        description="CS231n assignment 3 and d2l computer vision in TensorFlow, checked "
        "against a NumPy/PyTorch reference.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parity", help="compare every registered TF op with the reference")
    p.add_argument("--module", help="only this module's cases (default: all)")
    p.add_argument("--dtype", choices=["float64", "float32", "all"], default="all")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--json", metavar="FILE", help="also write the reports as JSON")
    p.set_defaults(run=_parity)

    p = sub.add_parser("bench", help="time TF against PyTorch, side by side")
    p.add_argument("workload", nargs="?", default="all", choices=[*bench.WORKLOADS, "all"])
    p.add_argument("--repeats", type=at_least_one, default=20, help="timed runs per variant")
    p.add_argument("--quick", action="store_true",
                   help="sooner, for rough numbers: one TF and one PyTorch process serve "
                        "every workload, instead of a pair per workload")
    p.add_argument("--variants", metavar="V,V",
                   help=f"only these, comma-separated, from {', '.join(bench.VARIANTS)} "
                        "(default: all; the floors are always timed)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(run=_bench)

    demo.add_parser(sub)
    caption.add_parser(sub)
    vis.add_parsers(sub)
    style_command.add_parsers(sub)
    gan_command.add_parsers(sub)
    finetune_command.add_parsers(sub)
    assignment_command.add_parsers(sub)
    return parser


def main(argv=None):
    """The command line; `argv` None reads sys.argv and, being the process's own command,
    filters TensorFlow's start-up lines out of stderr (see `tfcs231n.cli.console`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's start-up chatter out
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # --workers re-runs it
    quiet = console.quiet_startup() if argv is None else contextlib.nullcontext()
    try:
        with quiet:
            return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError) as e:
        # What the library raises for bad input (arguments, missing or unreadable files, no
        # network, an optional package absent), each with a message that says what to do:
        # a person gets that message, not a traceback, unless they ask for one.
        if os.environ.get("TFCS231N_TRACEBACK"):
            raise
        raise SystemExit(f"tfcs231n {args.command}: {e}\n(TFCS231N_TRACEBACK=1 shows where "
                         f"it was raised)") from e


if __name__ == "__main__":
    sys.exit(main())
