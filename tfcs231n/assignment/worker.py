"""The grader's subprocess: imports the student's package and judges functions one by one.

``python -m tfcs231n.assignment.worker --fd N DIR NAME...`` writes, on file descriptor N,
``START name`` before each function and ``RESULT {json}`` after it; the student's own
output goes to stdout/stderr, which the parent keeps apart. The parent (`check`) times
each function from its START and restarts a worker after a time-out or a crash.
"""

import argparse
import importlib
import json
import os
import sys
import traceback


def _module(path):
    from tfcs231n.assignment.sections import PACKAGE

    return importlib.import_module(PACKAGE + "." + path[:-3].replace("/", "."))


def judge_function(name):
    """The `judge.Result` of one student function (an exception becomes its error)."""
    from tfcs231n.assignment import judge, sections

    function = sections.find(name)
    section = next(s for s, info in sections.SECTIONS.items() if function in info.functions)
    try:
        modules = {function.module: _module(function.module)}
        if section == "captioning":
            from tfcs231n.assignment import checks_rnn as checks
        elif section == "gan":
            from tfcs231n.assignment import checks_gan as checks
        else:
            from tfcs231n.assignment import checks_vision as checks
        return judge.judge(name, checks.cases(name, modules))
    except NotImplementedError as e:
        text = str(e)
        return judge.Result(name, error=text if "not implemented" in text else
                            f"not implemented ({text})" if text else "not implemented")
    except Exception as e:  # a student's bug: reported, never raised
        frames = traceback.extract_tb(e.__traceback__)
        where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(frames)
                      if os.sep + sections.PACKAGE + os.sep in f.filename), "")
        return judge.Result(name, error=f"{type(e).__name__}: {e}"
                            + (f" (at {where})" if where else ""))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("directory")
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    channel = os.fdopen(args.fd, "w", buffering=1)
    sys.path.insert(0, os.path.abspath(args.directory))
    import tfcs231n.assignment.judge  # noqa: F401  (TensorFlow loads before the first START)
    import torch  # noqa: F401

    for name in args.names:
        channel.write(f"START {name}\n")
        channel.write("RESULT " + json.dumps(judge_function(name).to_dict()) + "\n")
    channel.close()


if __name__ == "__main__":
    main()
