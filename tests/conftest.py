"""Fixtures and a hard per-test timeout (SIGALRM; no pytest-timeout needed).

Mark a test with @pytest.mark.hard_timeout(SECONDS) to change its budget
(setup + call); teardown gets its own TEARDOWN_BUDGET.
"""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

DEFAULT_BUDGET = 60
TEARDOWN_BUDGET = 30


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("hard timeout: test took too long")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "hard_timeout(seconds): hard limit for setup + call")
    config.addinivalue_line(
        "markers", "needs(*programs): alertrelayd and/or alertctl must be built")


def _budget(item):
    m = item.get_closest_marker("hard_timeout")
    return int(m.args[0]) if m else DEFAULT_BUDGET


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(_budget(item))
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    signal.alarm(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    signal.alarm(TEARDOWN_BUDGET)
    yield
    signal.alarm(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_sessionfinish(session, exitstatus):
    # Safety net: whatever a test started and did not stop (a teardown cut
    # short by the hard timeout), stopped here by its PID.
    signal.alarm(0)
    harness.stop_all_started()


def _need(programs):
    missing = [p for p in programs
               if not os.access(os.path.join(harness.build_dir(), p), os.X_OK)]
    if missing:
        pytest.fail("not built: %s in %s (run make, or set ALERTRELAY_BUILD)"
                    % (", ".join(missing), harness.build_dir()), pytrace=False)


@pytest.fixture
def lab(request, tmp_path):
    """A harness.Lab: starts processes for the test, stops them after it.
    Prints every process's log tail when the test failed."""
    m = request.node.get_closest_marker("needs")
    _need(m.args if m else ("alertrelayd", "alertctl"))
    lab = harness.Lab(tmp_path)
    try:
        yield lab
    finally:
        failed = any(getattr(request.node, "rep_" + w, None) is not None and
                     getattr(request.node, "rep_" + w).failed
                     for w in ("setup", "call"))
        if failed:
            print("==== logs of the processes this test started (%s)" % tmp_path)
            print(lab.logs())
        lab.close()
        reports = lab.sanitizer_reports()
        if reports:
            pytest.fail("sanitizer report(s):\n" + "\n".join(reports),
                        pytrace=False)
