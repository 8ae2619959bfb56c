"""A short crash loop with the disk spool (see crash_loop.py): 8 kills,
6,000 lines over three rotated files. LF_CRASH_SEED repeats a run."""

import os
import random

import crash_loop
import harness


def test_crash_loop_exactly_once(scratch):
    seed = int(os.environ.get("LF_CRASH_SEED") or
               random.SystemRandom().randrange(1, 10 ** 6))
    crash_loop.run(scratch, seed, kills=8, lines=6000, seconds=6)


TESTS = [test_crash_loop_exactly_once]

if __name__ == "__main__":
    harness.main(TESTS)
