"""The organisation's signed directory, written from Python with PyNaCl:
an implementation independent of alertctl's, so the daemon's and the
client's checks are tested against docs/DIRECTORY.md rather than
against themselves.  Also makes what an attacker would: directories
signed by another key, rolled back, or tampered with."""

import base64
import json
import time

import nacl.signing

SIGCTX = b"alertrelay directory v1\n"


def b64(b):
    return base64.b64encode(bytes(b)).decode()


class Org:
    def __init__(self, signing_key=None):
        self.sk = signing_key or nacl.signing.SigningKey.generate()

    @property
    def public_key(self):
        return b64(self.sk.verify_key)

    def sign(self, payload_bytes):
        sig = self.sk.sign(SIGCTX + payload_bytes).signature
        return json.dumps({"alertrelay_directory": 1,
                           "payload": b64(payload_bytes),
                           "signature": b64(sig)}, indent=1)


def payload(version, devices, recipients, relays=(), pins=(),
            issued_at=None):
    """devices: dicts with id, alias, public_key, status (and
    retired_keys); recipients: dicts with id, alias, public_key,
    channels."""
    issued_at = issued_at or time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                           time.gmtime())
    return json.dumps({"version": version, "issued_at": issued_at,
                       "relays": list(relays), "relay_pins": list(pins),
                       "devices": list(devices),
                       "recipients": list(recipients)},
                      sort_keys=True).encode()


def read_payload(signed_text):
    return json.loads(base64.b64decode(json.loads(signed_text)["payload"]))


def tamper(signed_text, fn):
    """The signed file with its payload changed by fn(dict) and the
    signature left as it was: what a relay that edits the file makes."""
    outer = json.loads(signed_text)
    body = json.loads(base64.b64decode(outer["payload"]))
    fn(body)
    outer["payload"] = b64(json.dumps(body, sort_keys=True).encode())
    return json.dumps(outer)
