"""Every libFuzzer harness replays its whole corpus (fuzz/corpus/<name>),
including inputs that once crashed, under ASan and UBSan.  A crash or a
sanitizer report makes the harness exit non-zero."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = sorted(f[len("fuzz_"):-2] for f in os.listdir(os.path.join(ROOT, "fuzz"))
                 if f.startswith("fuzz_") and f.endswith(".c"))


@pytest.fixture(scope="module")
def built():
    # Every harness compiles the common sources with ASan: from a clean
    # tree this takes minutes, inside the first test's time.
    r = subprocess.run(["make", "-s", "-j2", "fuzz"], cwd=ROOT,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.hard_timeout(1800)
@pytest.mark.parametrize("name", TARGETS)
def test_corpus_replays_clean(built, name):
    corpus = os.path.join(ROOT, "fuzz", "corpus", name)
    files = os.listdir(corpus)
    assert files, "empty corpus for %s" % name
    r = subprocess.run([os.path.join(ROOT, "build-fuzz", "fuzz_" + name),
                        "-runs=0", corpus], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ERROR: AddressSanitizer" not in r.stderr
    assert "runtime error" not in r.stderr
