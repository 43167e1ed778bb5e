"""`tfcs231n assignment build|check`: the student edition, for course staff."""

import json
from pathlib import Path


def _build(args):
    from tfcs231n.assignment import build, sections

    written = build.build(args.out, sections.parse_sections(args.sections), args.solution)
    modules = sum(p.endswith(".py") for p in written)
    notebooks = [p for p in written if p.endswith(".ipynb")]
    print(f"wrote {args.out}: {modules} modules of {sections.PACKAGE}/, "
          f"{', '.join(notebooks)}, README.md"
          + (" (with solutions)" if args.solution else ""))
    return 0


def _check(args):
    from tfcs231n.assignment import check

    if not Path(args.directory).is_dir():
        raise FileNotFoundError(f"no directory {args.directory!r}")
    results = check.check(args.directory, [args.function] if args.function else None,
                          timeout=args.timeout)
    print(check.report(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(check.to_json(results), f, indent=1)
    return 0 if all(r.ok for r in results) else 1


def _positive(text):
    value = float(text)
    if not value > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {text!r}")
    return value


def add_parsers(sub):
    p = sub.add_parser("assignment", help="build the student handout, or grade a student's "
                       "directory function by function")
    commands = p.add_subparsers(dest="assignment_command", required=True, metavar="ACTION")

    b = commands.add_parser("build", help="write the handout: stubbed cs231n/ modules, "
                            "nbgrader notebooks, README")
    b.add_argument("out", help="a new or empty directory")
    b.add_argument("--sections", default=None,
                   help="comma-separated: captioning,visualization,style,gan (default all)")
    b.add_argument("--solution", action="store_true",
                   help="keep the solutions (the course staff's reference copy)")
    b.set_defaults(run=_build)

    c = commands.add_parser("check", help="grade DIR's functions against the reference; "
                            "exit status 0 only when all pass")
    c.add_argument("directory", metavar="DIR", help="a directory `build` wrote, filled in")
    c.add_argument("--function", metavar="NAME", help="only this function "
                   "(e.g. lstm_step_forward, CaptioningRNN.loss)")
    c.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    c.add_argument("--timeout", type=_positive, default=60.0,
                   help="seconds each function may take (default 60)")
    c.set_defaults(run=_check)
