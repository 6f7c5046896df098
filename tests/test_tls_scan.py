"""The device listener scanned by testssl.sh (Debian's testssl.sh, run
against a relay on loopback): TLS 1.3 only, no weak cipher, no known
vulnerability.

testssl.sh judges the certificate as a browser would, by a CA chain and a
host name.  The relay's certificate is trusted by its pin (docs/PROTOCOL.md),
self-signed by design, so the findings about the chain, the name and
revocation are listed below and left out; every other finding must be
below MEDIUM."""

import json
import shutil
import subprocess

import pytest

pytestmark = [pytest.mark.needs("alertrelayd"), pytest.mark.hard_timeout(600)]

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")

# Findings about trusting the certificate the way a browser does: by a CA
# chain, a DNS name and revocation lists.  Devices trust the pin instead,
# and a key is replaced by announcing the next pin in the directory.
PINNED_CERT_FINDINGS = ("cert_chain_of_trust", "cert_revocation",
                        "cert_crlDistributionPoints", "cert_ocspURL",
                        "OCSP_stapling", "cert_mustStapleExtension",
                        "DNS_CAArecord")
# The TLS 1.3 suites: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305.
TLS13_SUITES = {"cipher_x1301", "cipher_x1302", "cipher_x1303"}
BAD = ("MEDIUM", "HIGH", "CRITICAL")


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    import harness
    assert TESTSSL, "testssl.sh is not installed (make deps installs it)"
    lab = harness.Lab(tmp_path_factory.mktemp("tls-scan"))
    try:
        env, *_ = lab.stack()
        out = lab.tmp / "testssl.json"
        p = subprocess.run(
            [TESTSSL, "--quiet", "--color", "0", "--warnings", "off",
             "--sneaky", "--ip", "one", "--jsonfile", str(out),
             "--protocols", "--server-defaults", "--each-cipher",
             "--vulnerable", "--server-preference",
             "127.0.0.1:%d" % env.relay_port],
            capture_output=True, text=True, timeout=540)
        assert out.exists(), "testssl.sh wrote nothing (exit %d): %s" % (
            p.returncode, p.stdout[-2000:] + p.stderr[-2000:])
        findings = json.loads(out.read_text())
        yield {f["id"]: f for f in findings}, findings
    finally:
        lab.close()


def test_only_tls_1_3_is_offered(scan):
    by_id, _ = scan
    for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"):
        assert by_id[old]["finding"].startswith("not offered"), by_id[old]
    assert by_id["TLS1_3"]["finding"].startswith("offered"), by_id["TLS1_3"]


def test_only_strong_ciphers(scan):
    _, findings = scan
    offered = {f["id"] for f in findings if f["id"].startswith("cipher_x")}
    assert offered, "testssl.sh listed no cipher"
    assert offered <= TLS13_SUITES, offered - TLS13_SUITES


def test_no_finding_medium_or_worse(scan):
    _, findings = scan
    bad = [f for f in findings if f.get("severity") in BAD and
           f["id"] not in PINNED_CERT_FINDINGS and
           not f["id"].startswith("scanProblem")]
    assert bad == [], json.dumps(bad, indent=1)
    problems = [f for f in findings if f["id"].startswith("scanProblem")]
    assert problems == [], "the scan itself failed: %s" % problems


def test_known_vulnerabilities_not_present(scan):
    by_id, _ = scan
    for vid in ("heartbleed", "CCS", "ticketbleed", "ROBOT",
                "secure_renego", "secure_client_renego", "CRIME_TLS",
                "POODLE_SSL", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST",
                "LUCKY13", "RC4"):
        if vid in by_id:
            assert by_id[vid]["severity"] in ("OK", "INFO", "LOW"), \
                by_id[vid]
