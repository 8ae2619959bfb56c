"""Run a command in a user namespace, under lowered inotify limits or on
an overlay mount.

Meant to be started as `unshare -Ur python3 run_in_userns.py ...` (with
-m as well for --overlay). In a new user namespace
/proc/sys/user/max_inotify_watches and max_inotify_instances are
writable and enforced for that namespace only, so the host's limits are
never touched. --hold keeps that many inotify instances open in this
script, as a neighbour that already uses part of the budget would.
--overlay DIR mounts an overlay of DIR/lower and DIR/upper (work folder
DIR/work) on DIR/merged, visible only in the new mount namespace.

The script then starts the command, writes its pid to --pid-file,
forwards SIGTERM and SIGINT to it and exits with its status.
"""

import argparse
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
IN_CLOEXEC = 0o2000000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--watches", type=int)
    parser.add_argument("--instances", type=int)
    parser.add_argument("--hold", type=int, default=0)
    parser.add_argument("--overlay")
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] \
        else args.command

    if args.watches is not None:
        with open("/proc/sys/user/max_inotify_watches", "w") as fp:
            fp.write("%d\n" % args.watches)
    if args.instances is not None:
        with open("/proc/sys/user/max_inotify_instances", "w") as fp:
            fp.write("%d\n" % args.instances)
    if args.overlay is not None:
        top = args.overlay
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work"
                        % (top, top, top), top + "/merged"], check=True)

    libc = ctypes.CDLL(None, use_errno=True)
    neighbour_fds = []
    for _ in range(args.hold):
        fd = libc.inotify_init1(IN_CLOEXEC)
        if fd < 0:
            sys.exit("inotify_init1 failed: %s"
                     % os.strerror(ctypes.get_errno()))
        neighbour_fds.append(fd)

    def die_with_parent():
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    child = subprocess.Popen(command, preexec_fn=die_with_parent)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, _f: child.send_signal(s))
    tmp = args.pid_file + ".tmp"
    with open(tmp, "w") as fp:
        fp.write("%d\n" % child.pid)
    os.rename(tmp, args.pid_file)
    sys.exit(child.wait())


if __name__ == "__main__":
    main()
