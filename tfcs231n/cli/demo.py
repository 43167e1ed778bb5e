"""`tfcs231n demo`: the wording around `tfcs231n.demo.run`."""

from pathlib import Path

from tfcs231n.cli.args import random_seed
from tfcs231n.demo.run import SECTIONS, parse_sections, run

# The quick demo's duration measured on a quiet 2-core machine (README says the same).
QUICK_SECONDS = 215  # measured 2026-12-07 on a quiet 2-core AMD EPYC (matmul 478 GFLOP/s)


def main(args):
    """The `tfcs231n demo` command."""
    names = parse_sections(args.sections)
    out = Path(args.out)
    mode = "quick" if args.quick else "full"
    print(f"tfcs231n demo ({mode}, seed {args.seed}): {', '.join(names)}", flush=True)
    summary = run(out, quick=args.quick, sections=names, seed=args.seed,
                  log=lambda m: print(m, flush=True))
    failed = [n for n, s in summary["sections"].items() if not s["ok"]]
    print(f"\n{len(names) - len(failed)} of {len(names)} sections passed in "
          f"{summary['seconds']:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    print(f"report: {(out / 'report.html').resolve()}")
    return 0 if not failed else 1



def add_parser(sub):
    p = sub.add_parser("demo", help="run every section offline and write an HTML report")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="quick", action="store_true", default=True,
                      help=f"small runs, {QUICK_SECONDS} s on 2 quiet cores; a busy machine "
                      "doubles it (default)")
    mode.add_argument("--full", dest="quick", action="store_false",
                      help="course-size runs (much longer)")
    p.add_argument("--sections", help=f"comma-separated subset of: {', '.join(SECTIONS)}")
    p.add_argument("--out", default="tfcs231n-demo", help="output directory (default: "
                   "%(default)s)")
    p.add_argument("--seed", type=random_seed, default=0)
    p.set_defaults(run=main)
