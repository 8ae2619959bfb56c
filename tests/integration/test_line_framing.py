"""Line framing: LF ends a line, one trailing CR is removed, and an
unterminated last line waits until it is completed."""

import harness
from harness import check_eq, field


def plain_input(path):
    return {"id": "plain", "paths": [path]}


def shipped(standin):
    """Return [(offset, message)] sorted by offset."""
    return sorted((field(d, "log.offset"), field(d, "message"))
                  for d in harness.documents(standin))


def test_crlf_and_unterminated_line(scratch):
    standin = scratch.standin()
    data = (b"first\r\n"            # CR removed
            b"second\r\r\n"         # only one CR removed
            b"in\rside\n"           # a CR inside the line stays
            b"\r\n"                 # an empty line once the CR is gone
            b"third\n"
            b"fourth-unterminated")
    path = scratch.write("logs/framing.log", data, "wb")
    config = harness.write_config(scratch, [plain_input(path)], standin.url)
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [(0, "first"), (7, "second\r"),
                                (16, "in\rside"), (24, ""), (26, "third")],
             "documents after the first run")

    scratch.append("logs/framing.log", b"-completed\r\nfifth\n")
    harness.run_once(scratch, config)
    check_eq(shipped(standin)[5:],
             [(32, "fourth-unterminated-completed"), (63, "fifth")],
             "documents added by the second run")
    check_eq(len(harness.documents(standin)), 7, "documents in total")


def test_unterminated_line_alone(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/partial.log", b"no newline yet", "wb")
    config = harness.write_config(scratch, [plain_input(path)], standin.url)
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [], "documents before the newline")
    check_eq(standin.request_log(), [], "bulk requests before the newline")
    scratch.append("logs/partial.log", b"\n")
    harness.run_once(scratch, config)
    check_eq(shipped(standin), [(0, "no newline yet")],
             "documents after the newline")


def test_unterminated_line_in_agent_mode(scratch):
    standin = scratch.standin()
    path = scratch.write("logs/live.log", b"one\ntw", "wb")
    config = harness.write_config(scratch, [plain_input(path)], standin.url)
    agent = harness.Agent(scratch, config)
    harness.wait_until(lambda: len(harness.documents(standin)) >= 1,
                       what="the first line")
    scratch.append("logs/live.log", b"o\nthree\n")
    harness.wait_until(lambda: len(harness.documents(standin)) >= 3,
                       what="the completed lines")
    check_eq(agent.stop(), 0, "exit status after SIGTERM")
    check_eq(shipped(standin), [(0, "one"), (4, "two"), (8, "three")],
             "documents")


TESTS = [
    test_crlf_and_unterminated_line,
    test_unterminated_line_alone,
    test_unterminated_line_in_agent_mode,
]

if __name__ == "__main__":
    harness.main(TESTS)
