"""`logferry registry list` and `logferry registry forget`: the listing
after shipping known files, forgetting one file so that the next run reads
exactly that file again, and the lock that keeps forget away from a
running agent."""

import json
import os
import pwd

import harness
from harness import check, check_eq


def write_app_log(scratch, name, count, seed):
    lines, _ = harness.app_lines(count, seed=seed)
    return scratch.write("logs/" + name, "".join(l + "\n" for l in lines))


def stored_entries(scratch):
    """Return registry.json's entries by path."""
    with open(scratch.join("data", "registry.json")) as fp:
        return {e["path"]: e for e in json.load(fp)["files"]}


def run_registry(scratch, config, *args, expect_rc=0):
    proc = harness.run_agent(["registry"] + list(args) + ["-c", config],
                             cwd=scratch.path)
    check_eq(proc.returncode, expect_rc,
             "exit status of registry %s; stderr: %s"
             % (" ".join(args), harness.tail(proc.stderr)))
    return proc


def statx_dev(st):
    """The device number as the agent stores it: statx's major and minor
    numbers, major in the high 32 bits."""
    return (os.major(st.st_dev) << 32) | os.minor(st.st_dev)


def sent_items(standin, since):
    return [item for request in standin.request_log(since=since)
            for item in request["items"]]


def test_list_after_shipping(scratch):
    standin = scratch.standin()
    current = write_app_log(scratch, "current.log", 30, seed=21)
    gone = write_app_log(scratch, "gone.log", 5, seed=22)
    rotated = write_app_log(scratch, "rotated.log", 7, seed=23)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url)
    harness.run_once(scratch, config)

    stored = stored_entries(scratch)
    shipped_size = os.path.getsize(current)
    more = "".join(l + "\n" for l in harness.app_lines(3, seed=24)[0])
    scratch.append("logs/current.log", more)
    os.unlink(gone)
    os.rename(rotated, rotated + ".1")
    write_app_log(scratch, "rotated.log", 2, seed=25)

    def identity(path):
        entry = stored[path]
        return "id=%s dev=%d ino=%d" % (entry["id"], entry["dev"],
                                        entry["ino"])

    st = os.stat(current)
    check_eq(stored[current]["ino"], st.st_ino, "stored inode of current")
    check_eq(stored[current]["dev"], statx_dev(st), "stored device of current")
    expected = [
        "%s %s offset=%d size=%d lag=%d state=current input=app"
        % (current, identity(current), shipped_size, st.st_size,
           len(more)),
        "%s %s offset=%d size=- lag=- state=gone input=app"
        % (gone, identity(gone), stored[gone]["offset"]),
        "%s %s offset=%d size=- lag=- state=rotated input=app"
        % (rotated, identity(rotated), stored[rotated]["offset"]),
        "3 entries in %s/registry.json, lag %d bytes"
        % (scratch.join("data"), len(more)),
    ]
    proc = run_registry(scratch, config, "list")
    check_eq(proc.stdout.splitlines(), expected, "registry list lines")
    check_eq(proc.stderr, "", "registry list stderr")

    proc = run_registry(scratch, config, "list", "--json")
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    check_eq(len(objects), 3, "objects printed by registry list --json")
    first = stored[current]
    check_eq(objects[0], {
        "path": current, "id": first["id"], "base_id": first["id"],
        "generation": 0, "head": first["head"], "dev": statx_dev(st),
        "ino": st.st_ino, "input": "app", "offset": shipped_size,
        "updated": first["updated"], "state": "current",
        "size": st.st_size, "lag": len(more)}, "first JSON object")
    check_eq([(o["path"], o["state"], o["size"], o["lag"])
              for o in objects[1:]],
             [(gone, "gone", None, None), (rotated, "rotated", None, None)],
             "path, state, size and lag of the other JSON objects")


def test_list_without_registry(scratch):
    config = harness.write_config(scratch, [harness.app_input(["x.log"])],
                                  "http://127.0.0.1:9")
    proc = run_registry(scratch, config, "list")
    check_eq(proc.stdout, "0 entries in %s/registry.json, lag 0 bytes\n"
             % scratch.join("data"), "registry list output")
    check(not os.path.exists(scratch.join("data")),
          "registry list created path.data")


def test_forget_rereads_that_file(scratch):
    standin = scratch.standin()
    first = write_app_log(scratch, "first.log", 30, seed=31)
    second = write_app_log(scratch, "second.log", 10, seed=32)
    config = harness.write_config(
        scratch, [harness.app_input([scratch.join("logs", "*.log")])],
        standin.url)
    harness.run_once(scratch, config)
    first_ids = {item["id"] for item in sent_items(standin, 0)}
    check_eq(len(first_ids), 40, "documents of the first run")
    stored = stored_entries(scratch)
    requests = len(standin.request_log())

    proc = run_registry(scratch, config, "forget", first)
    check_eq(proc.stdout, "forgot %s id=%s offset=%d\n"
             % (first, stored[first]["id"], os.path.getsize(first)),
             "registry forget output")
    check_eq(sorted(stored_entries(scratch)), [second],
             "paths left in registry.json")

    harness.run_once(scratch, config)
    items = sent_items(standin, requests)
    check_eq(len(items), 30, "items sent after forget")
    check_eq([item["status"] for item in items], [409] * 30,
             "statuses of the items sent again")
    check({item["id"] for item in items} <= first_ids,
          "items sent again have ids of the first run")
    check_eq(stored_entries(scratch)[first]["offset"],
             os.path.getsize(first), "offset of the forgotten file after "
             "the run")


def test_forget_keeps_latest_generation(scratch):
    """A file truncated in place and written again with the same first
    line is generation 1 of the same file. Forgetting it must keep its
    generation, or its new lines would get the ids of the old lines at
    the same offsets and Elasticsearch would reject them with 409."""
    standin = scratch.standin()
    old_lines, _ = harness.app_lines(10, seed=61)
    path = scratch.write("logs/app.log",
                         "".join(l + "\n" for l in old_lines))
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url)
    harness.run_once(scratch, config)
    old_size = os.path.getsize(path)
    new_lines = [old_lines[0]] + harness.app_lines(2, seed=62)[0]
    scratch.write("logs/app.log", "".join(l + "\n" for l in new_lines))
    requests = len(standin.request_log())
    harness.run_once(scratch, config)
    second_ids = [item["id"] for item in sent_items(standin, requests)]
    check_eq(len(second_ids), 3, "items of the truncated file")

    stored = [e for e in json.load(open(scratch.join(
        "data", "registry.json")))["files"]]
    check_eq(sorted(e.get("generation", 0) for e in stored), [0, 1],
             "generations in registry.json")
    latest = [e for e in stored if e.get("generation") == 1][0]
    first = [e for e in stored if e.get("generation", 0) == 0][0]
    proc = run_registry(scratch, config, "list")
    check_eq(proc.stdout.splitlines()[:2], [
        "%s id=%s dev=%d ino=%d offset=%d size=%d lag=- state=truncated "
        "input=app" % (path, first["id"], first["dev"], first["ino"],
                       old_size, os.path.getsize(path)),
        "%s id=%s dev=%d ino=%d generation=1 offset=%d size=%d lag=0 "
        "state=current input=app" % (path, latest["id"], latest["dev"],
                                     latest["ino"], os.path.getsize(path),
                                     os.path.getsize(path))],
        "registry list lines of both generations")

    proc = run_registry(scratch, config, "forget", path)
    check_eq(sorted(proc.stdout.splitlines()), sorted([
        "forgot %s id=%s offset=%d" % (path, first["id"], old_size),
        "forgot %s id=%s offset=%d (generation 1 kept at offset 0)"
        % (path, latest["id"], os.path.getsize(path))]),
        "registry forget output")

    requests = len(standin.request_log())
    harness.run_once(scratch, config)
    items = sent_items(standin, requests)
    check_eq([item["id"] for item in items], second_ids,
             "ids of the lines read again")
    check_eq([item["status"] for item in items], [409] * 3,
             "statuses of the lines read again")


def test_forget_unknown_path_changes_nothing(scratch):
    standin = scratch.standin()
    known = write_app_log(scratch, "known.log", 4, seed=41)
    config = harness.write_config(scratch, [harness.app_input([known])],
                                  standin.url)
    harness.run_once(scratch, config)
    with open(scratch.join("data", "registry.json")) as fp:
        before = fp.read()

    missing = scratch.join("logs", "missing.log")
    proc = run_registry(scratch, config, "forget", known, missing,
                        expect_rc=1)
    check_eq(proc.stderr,
             "logferry: no registry entry has the path %s; 'logferry "
             "registry list' prints the paths\n"
             "logferry: nothing was forgotten\n" % missing,
             "registry forget stderr")
    check_eq(proc.stdout, "", "registry forget stdout")
    with open(scratch.join("data", "registry.json")) as fp:
        check_eq(fp.read(), before, "registry.json after a failed forget")


def test_forget_rejected_while_agent_runs(scratch):
    standin = scratch.standin()
    path = write_app_log(scratch, "app.log", 12, seed=51)
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url, **{"registry.flush": "50ms"})
    agent = harness.Agent(scratch, config)
    harness.wait_until(
        lambda: os.path.exists(scratch.join("data", "registry.json")) and
        stored_entries(scratch).get(path, {}).get("offset") ==
        os.path.getsize(path), what="the registry saved at the file's end")

    proc = run_registry(scratch, config, "forget", path, expect_rc=1)
    check_eq(proc.stderr,
             "logferry: the registry in %s is locked by a running agent; "
             "stop the agent, then run 'registry forget' again\n"
             % scratch.join("data"), "registry forget stderr")
    proc = run_registry(scratch, config, "list")
    check_eq(proc.stdout.splitlines()[-1],
             "1 entry in %s/registry.json, lag 0 bytes"
             % scratch.join("data"), "registry list summary while running")
    agent.check_running()
    check_eq(agent.stop(), 0, "agent exit status")
    check_eq(stored_entries(scratch)[path]["offset"], os.path.getsize(path),
             "offset after the rejected forget")


def test_forget_rejected_for_other_owner(scratch):
    check(os.geteuid() == 0, "this test gives path.data to nobody, which "
          "needs root")
    standin = scratch.standin()
    path = write_app_log(scratch, "app.log", 4, seed=61)
    config = harness.write_config(scratch, [harness.app_input([path])],
                                  standin.url)
    harness.run_once(scratch, config)
    data = scratch.join("data")
    with open(os.path.join(data, "registry.json")) as fp:
        before = fp.read()
    os.chown(data, 65534, 65534)

    proc = run_registry(scratch, config, "forget", path, expect_rc=1)
    owner = pwd.getpwuid(65534).pw_name
    check_eq(proc.stderr,
             "logferry: %s belongs to user %s (uid 65534) but this command "
             "runs as uid 0, so the agent could not read or replace the "
             "files it writes; run it as that user, for example with "
             "'sudo -u %s'\n" % (data, owner, owner),
             "registry forget stderr")
    with open(os.path.join(data, "registry.json")) as fp:
        check_eq(fp.read(), before, "registry.json after the rejected forget")
    os.chown(data, 0, 0)


def test_usage_errors(scratch):
    config = harness.write_config(scratch, [harness.app_input(["x.log"])],
                                  "http://127.0.0.1:9")
    cases = [
        (["registry"], "logferry: 'registry' needs a subcommand: "
                       "'registry list' or 'registry forget PATH...'"),
        (["registry", "drop"], "logferry: unknown subcommand 'registry "
                               "drop'; expected 'registry list' or "
                               "'registry forget'"),
        (["registry", "forget"], "logferry: 'registry forget' needs the "
                                 "path of at least one file"),
        (["registry", "list", "x"], "logferry: unexpected argument 'x' "
                                    "after 'registry list'"),
        (["registry", "forget", "x", "--json"],
         "logferry: --json applies only to 'registry list'"),
    ]
    for args, message in cases:
        proc = harness.run_agent(args + ["-c", config], cwd=scratch.path)
        check_eq(proc.returncode, 2, "exit status of %s" % " ".join(args))
        check_eq(proc.stderr, message + "\n", "stderr of %s" % " ".join(args))


TESTS = [
    test_list_after_shipping,
    test_list_without_registry,
    test_forget_rereads_that_file,
    test_forget_keeps_latest_generation,
    test_forget_unknown_path_changes_nothing,
    test_forget_rejected_while_agent_runs,
    test_forget_rejected_for_other_owner,
    test_usage_errors,
]

if __name__ == "__main__":
    harness.main(TESTS)
