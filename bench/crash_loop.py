"""The long crash loop: 100 SIGKILLs of the agent with the disk spool,
lines written to three rotated files, the stand-in Elasticsearch
refusing connections at random moments. Checks that every line is in the
index exactly once and prints the figures recorded in bench/README.md.

    ninja -C build
    python3 bench/crash_loop.py [--seed N] [--kills 100] [--lines 60000]
"""

import argparse
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
os.environ.setdefault("LOGFERRY", os.path.join(ROOT, "build", "agent",
                                               "logferry"))
os.environ.setdefault("LF_SOURCE_ROOT", ROOT)

import crash_loop  # noqa: E402
import harness  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int,
                        default=random.SystemRandom().randrange(1, 10 ** 6))
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--lines", type=int, default=60000)
    args = parser.parse_args()
    scratch = harness.Scratch("crash-loop")
    ok = False
    try:
        crash_loop.run(scratch, args.seed, args.kills, args.lines,
                       seconds=args.kills * 0.7)
        ok = True
    finally:
        scratch.close(keep=not ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
