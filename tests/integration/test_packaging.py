"""Tests of packaging/. packaging/deb/build.sh packages the binary under
test, and the .deb is unpacked into a scratch root with `dpkg -x` and
installed, upgraded, removed and purged with `dpkg --root`. The unit is
checked by `systemd-analyze verify`, and the installed binary ships with
the installed configuration to the Elasticsearch stand-in. No container
engine is available here, so the container entry point, configuration
and health check run outside a container."""

import atexit
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile

import yaml

import harness
from harness import check, check_eq, field, main

PACKAGING = os.path.join(harness.SOURCE_ROOT, "packaging")
UNIT = "lib/systemd/system/logferry.service"
CONFIG = "etc/logferry/logferry.yml"
STATE = "var/lib/logferry"
DOCKER_CONFIG = os.path.join(PACKAGING, "docker", "logferry.yml")
ENTRYPOINT = os.path.join(PACKAGING, "docker", "docker-entrypoint.sh")
DOCKERFILE = os.path.join(PACKAGING, "docker", "Dockerfile")
COMPOSE = os.path.join(PACKAGING, "compose")
APP_LINE = ("2026-03-01T10:00:00.000Z ERROR [txn=a1b2c3] GET /api/tasks/42 "
            "503 12ms\n")

# Every path of the package with its mode; all are owned by root.
EXPECTED_FILES = {
    "etc": 0o40755,
    "etc/logferry": 0o40755,
    CONFIG: 0o100644,
    "lib": 0o40755,
    "lib/systemd": 0o40755,
    "lib/systemd/system": 0o40755,
    UNIT: 0o100644,
    "usr": 0o40755,
    "usr/bin": 0o40755,
    "usr/bin/logferry": 0o100755,
    "usr/share": 0o40755,
    "usr/share/doc": 0o40755,
    "usr/share/doc/logferry": 0o40755,
    "usr/share/doc/logferry/copyright": 0o100644,
    "usr/share/man": 0o40755,
    "usr/share/man/man1": 0o40755,
    "usr/share/man/man1/logferry.1.gz": 0o100644,
    "var": 0o40755,
    "var/lib": 0o40755,
    STATE: 0o40755,
}
# Shared libraries that logferry links, each of which must be a
# dependency of the package.
EXPECTED_LIBRARY_PACKAGES = [
    "libc6", "libcurl4", "libdeflate0", "libisal2", "libjansson4",
    "libpcre2-8-0", "libssl3", "libuv1", "libyaml-0-2", "zlib1g",
]


# --- the package, built once for every test ------------------------------

_PACKAGE = {}


def package():
    """Build the .deb of the binary under test and unpack it, once.
    Returns a dict with the paths of the .deb and of the unpacked root."""
    if _PACKAGE:
        return _PACKAGE
    work = tempfile.mkdtemp(prefix="lf-packaging-",
                            dir=os.environ.get("LF_SCRATCH_BASE") or None)
    atexit.register(shutil.rmtree, work, True)
    build_dir = os.path.dirname(os.path.dirname(harness.logferry_path()))
    proc = subprocess.run(
        [os.path.join(PACKAGING, "deb", "build.sh"), build_dir, work],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=120)
    check_eq(proc.returncode, 0, "build.sh exit status (stderr: %s)"
             % proc.stderr)
    deb = proc.stdout.strip()
    root = os.path.join(work, "root")
    subprocess.run(["dpkg", "-x", deb, root], check=True)
    control = os.path.join(work, "control")
    subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
    _PACKAGE.update(deb=deb, root=root, control=control, work=work)
    return _PACKAGE


def run(argv, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", harness.DEFAULT_TIMEOUT)
    return subprocess.run(argv, **kwargs)


def read(path):
    with open(path, encoding="utf-8") as fp:
        return fp.read()


def unit_settings(text):
    """Parse a systemd unit into {section: {key: [values]}}."""
    sections = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, value = line.split("=", 1)
        current.setdefault(key, []).append(value)
    return sections


def default_shutdown_timeout_s():
    """Read LF_CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS from the agent's
    source, so the unit is checked against the default in force."""
    header = read(os.path.join(harness.SOURCE_ROOT, "agent", "config",
                               "config.h"))
    found = re.search(r"#define LF_CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS "
                      r"(\d+)", header)
    check(found, "LF_CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS not found in "
          "agent/config/config.h")
    return int(found.group(1)) / 1000


def agent_version():
    proc = run([harness.logferry_path(), "--version"])
    return proc.stdout.split()[1]


# --- the package's files ---------------------------------------------------

def test_deb_name_and_control(scratch):
    pkg = package()
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    check_eq(os.path.basename(pkg["deb"]),
             "logferry_%s_%s.deb" % (agent_version(), arch), "file name")

    control = read(os.path.join(pkg["control"], "control"))
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", control, re.M))
    check_eq(fields["Package"], "logferry", "Package")
    check_eq(fields["Version"], agent_version(), "Version")
    check_eq(fields["Architecture"], arch, "Architecture")
    depends = [dep.strip().split(" ")[0]
               for dep in fields["Depends"].split(",")]
    for name in EXPECTED_LIBRARY_PACKAGES + ["adduser"]:
        check(name in depends, "Depends lacks %s: %s"
              % (name, fields["Depends"]))

    check_eq(read(os.path.join(pkg["control"], "conffiles")),
             "/etc/logferry/logferry.yml\n", "conffiles")
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(pkg["control"], script)
        check_eq(stat.S_IMODE(os.stat(path).st_mode), 0o755,
                 "mode of " + script)
        check_eq(run(["sh", "-n", path]).returncode, 0,
                 "sh -n " + script)


def test_deb_files_and_modes(scratch):
    pkg = package()
    listing = run(["dpkg-deb", "--contents", pkg["deb"]]).stdout
    owners = set()
    for line in listing.splitlines():
        owners.add(line.split()[1])
    check_eq(owners, {"root/root"}, "owners in the package")

    found = {}
    for top, dirs, files in os.walk(pkg["root"]):
        for name in dirs + files:
            path = os.path.join(top, name)
            rel = os.path.relpath(path, pkg["root"])
            found[rel] = os.lstat(path).st_mode
    check_eq({k: oct(v) for k, v in sorted(found.items())},
             {k: oct(v) for k, v in sorted(EXPECTED_FILES.items())},
             "files and modes")

    sums = read(os.path.join(pkg["control"], "md5sums")).splitlines()
    listed = {}
    for line in sums:
        digest, rel = line.split("  ", 1)
        listed[rel] = digest
    regular = sorted(k for k, v in EXPECTED_FILES.items()
                     if stat.S_ISREG(v))
    check_eq(sorted(listed), regular, "files in md5sums")
    for rel in regular:
        with open(os.path.join(pkg["root"], rel), "rb") as fp:
            check_eq(hashlib.md5(fp.read()).hexdigest(), listed[rel],
                     "md5sum of " + rel)

    proc = run([os.path.join(pkg["root"], "usr/bin/logferry"), "--version"])
    check_eq(proc.stdout, "logferry %s\n" % agent_version(),
             "installed binary --version")
    check_eq(read(os.path.join(pkg["root"], CONFIG)),
             read(os.path.join(PACKAGING, "deb", "logferry.yml")),
             "installed configuration")


def test_man_page(scratch):
    pkg = package()
    with gzip.open(os.path.join(pkg["root"],
                                "usr/share/man/man1/logferry.1.gz"),
                   "rt", encoding="utf-8") as fp:
        page = fp.read()
    check_eq(page.splitlines()[0],
             '.TH LOGFERRY 1 "" "logferry %s" "User Commands"'
             % agent_version(), "title line")
    path = scratch.write("logferry.1", page)
    proc = run(["groff", "-man", "-Tutf8", "-ww", "-z", path])
    check_eq(proc.returncode, 0, "groff exit status")
    check_eq(proc.stderr, "", "groff warnings")
    rendered = run(["groff", "-man", "-Tascii", "-P-cbou", path]).stdout
    # Every command and option of --help is described.
    usage = run([harness.logferry_path(), "--help"]).stdout
    for option in re.findall(r"^\s+(-\w), (--\w+)", usage, re.M):
        for spelling in option:
            check(spelling in rendered, "man page lacks " + spelling)
    for command in ("test config", "test output", "parse", "dlq list",
                    "dlq replay", "registry list", "registry forget",
                    "--once", "--input", "--json", "SIGHUP"):
        check(command in usage, "--help lacks " + command)
        check(command in rendered, "man page lacks " + command)


# --- the systemd unit ------------------------------------------------------

def verify_unit(root):
    """Run systemd-analyze verify on the unit inside `root`. Return the
    CompletedProcess."""
    return run(["systemd-analyze", "verify", "--man=no", "--root=" + root,
                "logferry.service"])


def unit_root(scratch):
    """Copy the unpacked root into the scratch folder for
    systemd-analyze verify. verify needs every command of the unit and
    the targets it names to exist under --root. An installed system has
    /bin/kill (procps) and the targets (systemd), so the copy gets this
    machine's."""
    root = scratch.join("root")
    shutil.copytree(package()["root"], root, symlinks=True)
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    shutil.copy2("/bin/kill", os.path.join(root, "bin", "kill"))
    for name in os.listdir("/lib/systemd/system"):
        if name.endswith(".target"):
            shutil.copy2(os.path.join("/lib/systemd/system", name),
                         os.path.join(root, "lib/systemd/system", name),
                         follow_symlinks=False)
    return root


def test_unit_verifies(scratch):
    root = unit_root(scratch)
    proc = verify_unit(root)
    check_eq(proc.returncode, 0, "systemd-analyze verify exit status")
    check_eq(proc.stderr + proc.stdout, "", "systemd-analyze verify output")

    # A misspelled key is a warning with exit status 0, so the empty
    # output above is what proves the unit clean.
    unit = os.path.join(root, UNIT)
    text = read(unit)
    with open(unit, "w", encoding="utf-8") as fp:
        fp.write(text.replace("NoNewPrivileges=", "NoNewPrivilege="))
    proc = verify_unit(root)
    check("Unknown key 'NoNewPrivilege'" in proc.stderr,
          "verify did not report a misspelled key: %r" % proc.stderr)


def test_unit_settings(scratch):
    pkg = package()
    unit = unit_settings(read(os.path.join(pkg["root"], UNIT)))
    service = unit["Service"]
    expected = {
        "User": ["logferry"],
        "Group": ["logferry"],
        "SupplementaryGroups": ["adm"],
        "ExecStart": ["/usr/bin/logferry -c /etc/logferry/logferry.yml"],
        "ExecReload": ["/bin/kill -HUP $MAINPID"],
        "Restart": ["on-failure"],
        "ProtectSystem": ["strict"],
        "ReadWritePaths": ["/var/lib/logferry"],
        "NoNewPrivileges": ["yes"],
    }
    for key, value in expected.items():
        check_eq(service.get(key), value, key)
    check_eq(unit["Install"]["WantedBy"], ["multi-user.target"],
             "WantedBy")

    timeout = re.fullmatch(r"(\d+)s", service["TimeoutStopSec"][0])
    check(timeout, "TimeoutStopSec is not in seconds: %s"
          % service["TimeoutStopSec"])
    config = yaml.safe_load(read(os.path.join(pkg["root"], CONFIG)))
    check("shutdown.timeout" not in config,
          "the default configuration sets shutdown.timeout; compare it "
          "with TimeoutStopSec")
    check(int(timeout.group(1)) > default_shutdown_timeout_s() + 5,
          "TimeoutStopSec=%s leaves less than 5 s beyond the default "
          "shutdown.timeout of %g s" % (timeout.group(1),
                                        default_shutdown_timeout_s()))

    # The only folder the unit lets the agent write to is path.data.
    check_eq(["/" + STATE], service["ReadWritePaths"], "ReadWritePaths")
    check_eq(config["path.data"], "/" + STATE, "path.data")


# --- the maintainer scripts ------------------------------------------------

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >>"$STUB_LOG"
case "$(basename "$0") $1" in
"getent "*) [ -n "$STUB_USER_EXISTS" ] ;;
"dpkg-statoverride "*) [ -n "$STUB_STATOVERRIDE" ] ;;
"deb-systemd-helper --quiet") [ -z "$STUB_WAS_DISABLED" ] ;;
*) exit 0 ;;
esac
"""
STUB_COMMANDS = ["getent", "addgroup", "adduser", "chown", "chmod",
                 "dpkg-statoverride", "deb-systemd-helper",
                 "deb-systemd-invoke", "systemctl"]


def stubs_folder(scratch):
    """Return a folder of stubs for STUB_COMMANDS, made on first use."""
    stubs = scratch.join("stubs")
    if not os.path.isdir(stubs):
        os.makedirs(stubs)
        for name in STUB_COMMANDS:
            path = os.path.join(stubs, name)
            with open(path, "w", encoding="utf-8") as fp:
                fp.write(STUB)
            os.chmod(path, 0o755)
    return stubs


def run_script(scratch, root, script, args, **stub_env):
    """Run a maintainer script with DPKG_ROOT=root and stubs that log
    their arguments in place of the commands that change the system.
    Returns the logged calls, one string each."""
    log = scratch.join("calls")
    if os.path.exists(log):
        os.unlink(log)
    env = {"PATH": stubs_folder(scratch) + ":/usr/bin:/bin",
           "DPKG_ROOT": root, "STUB_LOG": log}
    for key, value in stub_env.items():
        env["STUB_" + key.upper()] = value
    proc = run(["sh", os.path.join(package()["control"], script)] + args,
               env=env)
    check_eq(proc.returncode, 0, "%s %s exit status (stderr: %s)"
             % (script, " ".join(args), proc.stderr))
    if not os.path.exists(log):
        return []
    return read(log).splitlines()


def test_postinst_install_and_upgrade(scratch):
    root = scratch.join("root")
    shutil.copytree(package()["root"], root)
    calls = run_script(scratch, root, "postinst", ["configure", ""])
    check_eq(calls, [
        "getent group logferry",
        "addgroup --system logferry",
        "getent passwd logferry",
        "adduser --system --ingroup logferry --home /var/lib/logferry "
        "--no-create-home --shell /usr/sbin/nologin --gecos logferry log "
        "shipper logferry",
        "adduser logferry adm",
        "dpkg-statoverride --list %s/%s" % (root, STATE),
        "chown logferry:logferry %s/%s" % (root, STATE),
        "chmod 0750 %s/%s" % (root, STATE),
        "dpkg-statoverride --list %s/%s" % (root, CONFIG),
        "chown root:logferry %s/%s" % (root, CONFIG),
        "chmod 0640 %s/%s" % (root, CONFIG),
        "deb-systemd-helper unmask logferry.service",
        "deb-systemd-helper --quiet was-enabled logferry.service",
        "deb-systemd-helper enable logferry.service",
    ], "calls of a first install")

    # An upgrade from 0.0.9 where the user exists, the administrator
    # disabled the service and recorded their own owner for the state.
    calls = run_script(scratch, root, "postinst", ["configure", "0.0.9"],
                       user_exists="1", statoverride="1",
                       was_disabled="1")
    check_eq(calls, [
        "getent group logferry",
        "getent passwd logferry",
        "adduser logferry adm",
        "dpkg-statoverride --list %s/%s" % (root, STATE),
        "dpkg-statoverride --list %s/%s" % (root, CONFIG),
        "deb-systemd-helper unmask logferry.service",
        "deb-systemd-helper --quiet was-enabled logferry.service",
        "deb-systemd-helper update-state logferry.service",
    ], "calls of an upgrade")


def test_postrm_keeps_state_until_purge(scratch):
    root = scratch.join("root")
    registry = os.path.join(root, STATE, "registry.json")
    os.makedirs(os.path.dirname(registry))
    with open(registry, "w", encoding="utf-8") as fp:
        fp.write("{}")

    for action in ("upgrade", "remove"):
        run_script(scratch, root, "postrm", [action])
        check(os.path.exists(registry),
              "postrm %s removed %s" % (action, registry))
    calls = run_script(scratch, root, "postrm", ["purge"])
    check(not os.path.exists(os.path.join(root, STATE)),
          "postrm purge left " + STATE)
    check_eq(calls, ["deb-systemd-helper purge logferry.service",
                     "deb-systemd-helper unmask logferry.service"],
             "calls of a purge")
    check_eq(run_script(scratch, root, "prerm", ["upgrade"]), [],
             "calls of prerm upgrade")


def dpkg_in_root(scratch, root, args):
    """Run dpkg on the database of `root`. The maintainer scripts run
    outside a chroot with DPKG_ROOT=root (--force-script-chrootless),
    and the stubs stand in for the commands that would change this
    machine. Returns the calls the scripts made."""
    log = scratch.join("calls")
    if os.path.exists(log):
        os.unlink(log)
    env = dict(os.environ, PATH=stubs_folder(scratch) + ":"
               + os.environ["PATH"], STUB_LOG=log)
    proc = run(["dpkg", "--root=" + root, "--force-script-chrootless",
                "--force-depends", "--log=/dev/null"] + args, env=env,
               stdin=subprocess.DEVNULL)
    check_eq(proc.returncode, 0, "dpkg %s exit status (stderr: %s)"
             % (" ".join(args), proc.stderr))
    return read(log).splitlines() if os.path.exists(log) else []


def test_dpkg_upgrade_remove_purge(scratch):
    root = scratch.join("root")
    for folder in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(root, "var/lib/dpkg", folder))
    for name in ("status", "available"):
        open(os.path.join(root, "var/lib/dpkg", name), "w").close()
    deb = package()["deb"]
    config = os.path.join(root, CONFIG)
    registry = os.path.join(root, STATE, "registry.json")

    calls = dpkg_in_root(scratch, root, ["--install", deb])
    check("adduser logferry adm" in calls, "install calls: %s" % calls)
    status = read(os.path.join(root, "var/lib/dpkg/status"))
    check("Status: install ok installed" in status, "status: " + status)
    check(re.search(r"^Conffiles:\n /etc/logferry/logferry.yml [0-9a-f]{32}$",
                    status, re.M), "no conffile in status: " + status)

    # The administrator changes the configuration and the agent saves
    # its registry; installing the package again is an upgrade.
    with open(config, "a", encoding="utf-8") as fp:
        fp.write("logging.level: debug\n")
    edited = read(config)
    with open(registry, "w", encoding="utf-8") as fp:
        fp.write("{}")
    calls = dpkg_in_root(scratch, root, ["--install", deb])
    check_eq(read(config), edited, "configuration after an upgrade")
    check(os.path.exists(registry), "upgrade removed " + registry)
    check("deb-systemd-helper --quiet was-enabled logferry.service"
          in calls, "upgrade calls: %s" % calls)

    calls = dpkg_in_root(scratch, root, ["--remove", "logferry"])
    check_eq(calls, ["deb-systemd-helper mask logferry.service"],
             "calls of remove")
    check(not os.path.exists(os.path.join(root, "usr/bin/logferry")),
          "remove left /usr/bin/logferry")
    check_eq(read(config), edited, "configuration after remove")
    check(os.path.exists(registry), "remove deleted " + registry)

    calls = dpkg_in_root(scratch, root, ["--purge", "logferry"])
    check_eq(calls, ["deb-systemd-helper purge logferry.service",
                     "deb-systemd-helper unmask logferry.service"],
             "calls of purge")
    check(not os.path.exists(os.path.join(root, STATE)),
          "purge left " + STATE)
    check(not os.path.exists(os.path.join(root, "etc/logferry")),
          "purge left /etc/logferry")


# --- the installed binary and configuration --------------------------------

def installed_config(scratch, standin_url):
    """Copy the installed configuration, with its log paths and
    path.data moved into the scratch folder and its URL pointed to the
    stand-in. Every other line stays as installed."""
    text = read(os.path.join(package()["root"], CONFIG))
    for old, new in (('["/var/log/*.log"]',
                      json.dumps([scratch.join("log", "*.log")])),
                     ('["/var/log/app/*.log"]',
                      json.dumps([scratch.join("log", "app", "*.log")])),
                     ("path.data: /var/lib/logferry",
                      "path.data: " + scratch.join("state")),
                     ('"http://localhost:9200"', json.dumps(standin_url))):
        check_eq(text.count(old), 1, "occurrences of %s in %s"
                 % (old, CONFIG))
        text = text.replace(old, new)
    return scratch.write("logferry.yml", text)


def written_paths(trace, cwd):
    """Return the absolute paths that a strace -y log shows written,
    created, renamed or removed, failed calls left out. -y prints each
    directory descriptor, AT_FDCWD included, as fd<path>."""
    operand = r'(?:(?:AT_FDCWD|\d+)<([^>]*)>, )?"([^"]*)"'
    paths = []
    for line in read(trace).splitlines():
        call = re.search(r"(\w+)\(" + operand + r"(.*)", line)
        if not call:
            continue
        name, dirpath, path, rest = call.groups()
        if name in ("openat", "open") and \
                not re.search(r"O_WRONLY|O_RDWR|O_CREAT", rest):
            continue
        if " = -1 " in rest:
            continue
        paths.append(os.path.join(dirpath or cwd, path))
        second = re.match(", " + operand, rest)
        if name.startswith("rename") and second:
            paths.append(os.path.join(second.group(1) or cwd,
                                      second.group(2)))
    return paths


def untraced_leaks():
    """LeakSanitizer cannot run under ptrace: turn it off in an
    AddressSanitizer build traced by strace."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"}


def test_installed_binary_ships(scratch):
    standin = scratch.standin()
    config = installed_config(scratch, standin.url)
    scratch.write("log/syslog.log", "Mar  1 10:00:00 host cron[1]: "
                  "job done\n")
    scratch.write("log/app/api.log", APP_LINE)
    binary = os.path.join(package()["root"], "usr/bin/logferry")

    proc = run([binary, "test", "config", "-c", config])
    check_eq(proc.returncode, 0, "test config exit status (stderr: %s)"
             % proc.stderr)

    # ProtectSystem=strict with ReadWritePaths=/var/lib/logferry: every
    # file the agent writes must be under path.data.
    trace = scratch.join("strace.log")
    proc = run(["strace", "-f", "-qq", "-y", "-o", trace, "-e",
                "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,"
                "renameat2,unlink,unlinkat,link,linkat,symlinkat,truncate",
                binary, "-c", config, "--once"],
               cwd=scratch.path, env=harness.agent_env(untraced_leaks()))
    check_eq(proc.returncode, 0, "--once exit status (stderr: %s)"
             % harness.tail(proc.stderr))
    state = scratch.join("state")
    written = written_paths(trace, scratch.path)
    check(os.path.join(state, "registry.json") in written,
          "the trace shows no write of registry.json: %s" % written)
    outside = [p for p in written
               if not (p == state or p.startswith(state + "/"))]
    check_eq(outside, [], "paths written outside path.data")

    docs = harness.documents(standin, "logs-generic-default")
    check_eq(len(docs), 2, "documents shipped")
    app = [d for d in docs
           if field(d, "log.file.path") == scratch.join("log/app/api.log")]
    check_eq(len(app), 1, "documents of the app input")
    check_eq(field(app[0], "log.level"), "error", "log.level")
    check_eq(field(app[0], "url.path"), "/api/tasks/42", "url.path")
    check_eq(field(app[0], "message"), APP_LINE.rstrip("\n"), "message")
    system = [d for d in docs
              if field(d, "log.file.path") == scratch.join("log/syslog.log")]
    check_eq(len(system), 1, "documents of the system input")


# --- the container image, run outside a container ---------------------------

def entrypoint_env(scratch, standin_url, port, **extra):
    env = {"PATH": os.path.join(package()["root"], "usr/bin") + ":"
                   + os.environ["PATH"],
           "LOGFERRY_CONFIG": DOCKER_CONFIG,
           "LOGFERRY_ES_URL": standin_url,
           "LOGFERRY_ES_INDEX": "logs-sample-default",
           "LOGFERRY_SERVICE_NAME": "sample-app",
           "LOGFERRY_LOG_DIR": scratch.join("app"),
           "LOGFERRY_DATA": scratch.join("data"),
           "LOGFERRY_HTTP_PORT": str(port)}
    env.update(extra)
    return harness.agent_env(env)


def dockerfile_instructions():
    """Return the Dockerfile's instructions as (NAME, arguments) pairs,
    with continuation lines joined."""
    text = read(DOCKERFILE).replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, args = line.partition(" ")
            out.append((name.upper(), " ".join(args.split())))
    return out


def healthcheck_command():
    checks = [a for n, a in dockerfile_instructions() if n == "HEALTHCHECK"]
    check_eq(len(checks), 1, "HEALTHCHECK instructions")
    command = re.search(r"\bCMD (.*)$", checks[0])
    check(command, "HEALTHCHECK has no CMD: " + checks[0])
    return command.group(1)


def kill_group(proc):
    """Send SIGKILL to the process group that `proc` leads, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def test_entrypoint_ships_and_stops(scratch):
    standin = scratch.standin()
    port = harness.free_port()
    env = entrypoint_env(scratch, standin.url, port)
    scratch.write("app/app.log", APP_LINE)

    proc = run(["sh", ENTRYPOINT, "test", "config"], env=env)
    check_eq(proc.returncode, 0, "entrypoint test config exit status "
             "(stderr: %s)" % proc.stderr)
    check_eq(proc.stdout, "Config OK: %s (1 input, output elasticsearch "
             "%s)\n" % (DOCKER_CONFIG, standin.url), "test config output")

    health = healthcheck_command()
    stderr_path = scratch.join("entrypoint.stderr")
    # A session of its own, so that cleanup also ends an agent that a
    # shell without exec would leave behind.
    with open(stderr_path, "wb") as err:
        agent = subprocess.Popen(["sh", ENTRYPOINT], env=env,
                                 cwd=scratch.path, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=err)
    scratch.defer(kill_group, agent)
    docs = harness.wait_until(
        lambda: harness.documents(standin, "logs-sample-default"),
        what="the document of app.log")
    check_eq(len(docs), 1, "documents shipped")
    check_eq(field(docs[0], "service.name"), "sample-app", "service.name")
    check_eq(field(docs[0], "labels.http_route"), "/api/tasks/{id}",
             "labels.http_route")
    check_eq(field(docs[0], "log.level"), "error", "log.level")

    # The health check, as the image runs it.
    proc = run(["sh", "-c", health], env=env)
    check_eq(proc.returncode, 0, "health check exit status (stderr: %s)"
             % proc.stderr)

    # exec: the agent is the entry point's process and gets SIGTERM.
    agent.send_signal(signal.SIGTERM)
    check_eq(agent.wait(harness.DEFAULT_TIMEOUT), 0,
             "exit status after SIGTERM")
    stderr = read(stderr_path)
    check("shutdown report: output=elasticsearch delivered=1 " in stderr,
          "no shutdown report: %s" % harness.tail(stderr))
    proc = run(["sh", "-c", health], env=env)
    check(proc.returncode != 0, "the health check passed with the agent "
          "stopped")


def test_entrypoint_arguments(scratch):
    standin = scratch.standin()
    env = entrypoint_env(scratch, standin.url, harness.free_port())
    other = scratch.write("other.yml", read(DOCKER_CONFIG).replace(
        "${LOGFERRY_ES_INDEX:-logs-app-default}", "logs-other-default"))
    scratch.write("app/app.log", APP_LINE)

    # Options go to the agent; -c replaces LOGFERRY_CONFIG.
    proc = run(["sh", ENTRYPOINT, "-c", other, "--once"], env=env,
               cwd=scratch.path)
    check_eq(proc.returncode, 0, "entrypoint -c FILE --once exit status "
             "(stderr: %s)" % harness.tail(proc.stderr))
    check_eq(len(harness.documents(standin, "logs-other-default")), 1,
             "documents in the index of the -c file")

    proc = run(["sh", ENTRYPOINT, "parse"], env=env, input=APP_LINE)
    check_eq(proc.returncode, 0, "entrypoint parse exit status")
    check_eq(field(json.loads(proc.stdout), "service.name"), "sample-app",
             "service.name printed by parse")

    # registry goes to the agent with the configuration added.
    proc = run(["sh", ENTRYPOINT, "registry", "list"], env=env,
               cwd=scratch.path)
    check_eq(proc.returncode, 0, "entrypoint registry list exit status "
             "(stderr: %s)" % harness.tail(proc.stderr))
    check_eq(proc.stdout.splitlines()[-1].split(", lag ")[-1], "0 bytes",
             "entrypoint registry list summary")

    proc = run(["sh", ENTRYPOINT, "--version"], env=env)
    check_eq(proc.stdout, "logferry %s\n" % agent_version(),
             "entrypoint --version")
    proc = run(["sh", ENTRYPOINT, "sh", "-c", "echo $0", "other"], env=env)
    check_eq(proc.stdout, "other\n", "a command that is not logferry's")

    # An unset variable without a default is named in the error.
    broken = scratch.write("broken.yml", read(DOCKER_CONFIG).replace(
        "${LOGFERRY_ES_URL:-http://elasticsearch:9200}", "${ES_MISSING}"))
    proc = run(["sh", ENTRYPOINT, "test", "config", "-c", broken], env=env)
    check_eq(proc.returncode, 2, "test config exit status, unset variable")
    check("environment variable ES_MISSING is not set" in proc.stderr,
          "error does not name ES_MISSING: %s" % proc.stderr)


def test_dockerfile(scratch):
    instructions = dockerfile_instructions()
    stages = [a for n, a in instructions if n == "FROM"]
    check_eq(stages, ["debian:bookworm-slim AS build",
                      "debian:bookworm-slim"], "stages")
    runtime = instructions[[n for n, _ in instructions].index("FROM", 1):]
    values = {}
    for name, args in runtime:
        values.setdefault(name, []).append(args)
    check_eq(values["USER"], ["10001:10001"], "USER")
    check_eq(values["STOPSIGNAL"], ["SIGTERM"], "STOPSIGNAL")
    check_eq(values["ENTRYPOINT"], ['["/usr/local/bin/docker-entrypoint.sh"]'],
             "ENTRYPOINT")
    check("/healthz" in healthcheck_command(), "health check path")
    installs = " ".join(a for a in values["RUN"] if "apt-get install" in a)
    for name in ("ca-certificates", "tzdata", "curl",
                 "/tmp/deb/logferry_*.deb"):
        check(name in installs.split(), "runtime stage lacks " + name)
    # Every file the image copies from the tree exists.
    for name, args in instructions:
        if name != "COPY" or args.startswith("--from"):
            continue
        for source in args.split()[:-1]:
            if source == ".":
                continue
            matches = [p for p in os.listdir(os.path.join(
                harness.SOURCE_ROOT, os.path.dirname(source)))
                if re.fullmatch(os.path.basename(source)
                                .replace(".", r"\.").replace("*", ".*"), p)]
            check(matches, "COPY source %s not in the tree" % source)


# --- the compose example ----------------------------------------------------

def test_compose_example(scratch):
    with open(os.path.join(COMPOSE, "docker-compose.yml"),
              encoding="utf-8") as fp:
        compose = yaml.safe_load(fp)
    services = compose["services"]
    check_eq(sorted(services), ["app", "elasticsearch", "kibana",
                                "kibana-setup", "logferry"], "services")
    shipper = services["logferry"]
    check_eq(shipper["build"]["dockerfile"], "packaging/docker/Dockerfile",
             "logferry dockerfile")
    check(os.path.exists(os.path.join(COMPOSE, shipper["build"]["context"],
                                      shipper["build"]["dockerfile"])),
          "the Dockerfile is not at the build context's path")
    check_eq(shipper["environment"]["LOGFERRY_ES_URL"],
             "http://elasticsearch:9200", "LOGFERRY_ES_URL")
    check_eq(shipper["volumes"], ["app-logs:/var/log/app:ro",
                                  "logferry-data:/var/lib/logferry"],
             "logferry volumes")
    check("app-logs:/var/log/app" in services["app"]["volumes"],
          "the app does not write to the app-logs volume")
    check_eq(shipper["stop_grace_period"], "40s", "stop_grace_period")
    check(40 > default_shutdown_timeout_s(), "grace period below timeout")
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                check(os.path.exists(os.path.join(COMPOSE, source)),
                      "%s mounts missing %s" % (name, source))
            else:
                check(source in compose["volumes"],
                      "%s mounts undeclared volume %s" % (name, source))

    # The saved search and its data view, as the import API reads them.
    with open(os.path.join(COMPOSE, "error-logs-by-route.ndjson"),
              encoding="utf-8") as fp:
        objects = [json.loads(line) for line in fp]
    check_eq([(o["type"], o["id"]) for o in objects],
             [("index-pattern", "logferry-logs"),
              ("search", "logferry-error-logs-by-route")], "objects")
    view, search = objects
    check_eq(view["attributes"]["title"], "logs-*", "data view pattern")
    check_eq(view["attributes"]["timeFieldName"], "@timestamp",
             "data view time field")
    check_eq(search["references"],
             [{"id": "logferry-logs", "type": "index-pattern",
               "name": "kibanaSavedObjectMeta.searchSourceJSON.index"}],
             "search references")
    source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]
                        ["searchSourceJSON"])
    check_eq(source["indexRefName"],
             "kibanaSavedObjectMeta.searchSourceJSON.index", "indexRefName")
    check_eq(source["query"], {"query": 'log.level : "error"',
                               "language": "kuery"}, "query")
    check_eq(search["attributes"]["breakdownField"], "labels.http_route",
             "breakdownField")

    # The sample application's lines, read by the image's configuration,
    # give every field the saved search shows.
    app_log = scratch.join("app.log")
    proc = run(["timeout", "1.5", "sh", os.path.join(COMPOSE,
                                                     "sample-app.sh")],
               env=dict(os.environ, APP_LOG=app_log))
    check_eq(proc.returncode, 124, "sample-app.sh exit status by timeout")
    lines = read(app_log)
    env = entrypoint_env(scratch, "http://127.0.0.1:9", 0)
    proc = run(["sh", ENTRYPOINT, "parse"], env=env, input=lines)
    check_eq(proc.returncode, 0, "parse of the sample lines (stderr: %s)"
             % proc.stderr)
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    check_eq(len(docs), len(lines.splitlines()), "documents parsed")
    check(len(docs) >= 3, "sample-app.sh wrote %d lines in 1.5 s"
          % len(docs))
    for doc in docs:
        for name in search["attributes"]["columns"] + ["log.level"]:
            check(field(doc, name) is not None,
                  "%s missing in %s" % (name, doc))
        check(field(doc, "log.level") in ("info", "error"),
              "log.level %s" % field(doc, "log.level"))


if __name__ == "__main__":
    main([test_deb_name_and_control, test_deb_files_and_modes,
          test_man_page, test_unit_verifies, test_unit_settings,
          test_postinst_install_and_upgrade,
          test_postrm_keeps_state_until_purge,
          test_dpkg_upgrade_remove_purge, test_installed_binary_ships,
          test_entrypoint_ships_and_stops, test_entrypoint_arguments,
          test_dockerfile, test_compose_example])
