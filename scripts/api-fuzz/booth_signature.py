"""Schemathesis hook: sign every request the way an enrolled booth does.

A second, independent implementation of `sync_protocol::signing` (RFC 9421 with ed25519 over
`@method @path @query content-digest`, plus an RFC 9530 Content-Digest), so the fuzzer reaches
the handlers behind the signature check instead of stopping at 401. If the two implementations
ever disagree, every signed operation answers 401 and the run fails on the positive cases.

Reads BOOTH_KEY_FILE (the booth's 32-byte identity seed) and BOOTH_KIOSK_ID from the
environment (set by scripts/api-fuzz/run).
"""

import base64
import hashlib
import os
import secrets
import time
from urllib.parse import urlsplit

import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

COMPONENTS = '("@method" "@path" "@query" "content-digest")'
SIGNATURE_HEADERS = ("Content-Digest", "Signature-Input", "Signature")
PLACEHOLDER = "signed-by-booth-signature-hook"


def _key():
    with open(os.environ["BOOTH_KEY_FILE"], "rb") as file:
        return Ed25519PrivateKey.from_private_bytes(file.read())


class BoothSignature(requests.auth.AuthBase):
    """Signs the request as prepared, after its body is final."""

    def __init__(self, key, kiosk_id):
        self.key = key
        self.kiosk_id = kiosk_id

    def __call__(self, request):
        # The run sends PLACEHOLDER in the three headers (scripts/api-fuzz/run); Schemathesis
        # removes or replaces them on purpose to check that the server refuses the request
        # (ignored_auth, missing_required_header). Sign only a request that still carries all
        # three placeholders, and never send a placeholder.
        if not all(request.headers.get(name) == PLACEHOLDER for name in SIGNATURE_HEADERS):
            for name in SIGNATURE_HEADERS:
                if request.headers.get(name) == PLACEHOLDER:
                    del request.headers[name]
            return request
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        url = urlsplit(request.url)
        digest = "sha-256=:%s:" % base64.b64encode(hashlib.sha256(body).digest()).decode()
        nonce = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        params = '%s;created=%d;keyid="%s";nonce="%s";alg="ed25519"' % (
            COMPONENTS,
            int(time.time()),
            self.kiosk_id,
            nonce,
        )
        base = "\n".join(
            [
                '"@method": %s' % request.method.upper(),
                '"@path": %s' % url.path,
                '"@query": ?%s' % url.query,
                '"content-digest": %s' % digest,
                '"@signature-params": %s' % params,
            ]
        )
        signature = base64.b64encode(self.key.sign(base.encode())).decode()
        request.headers["Content-Digest"] = digest
        request.headers["Signature-Input"] = "sig1=" + params
        request.headers["Signature"] = "sig1=:%s:" % signature
        return request


_SIGNER = None


@schemathesis.hook
def before_call(context, case, kwargs):
    global _SIGNER
    if _SIGNER is None:
        _SIGNER = BoothSignature(_key(), os.environ["BOOTH_KIOSK_ID"])
    kwargs["auth"] = _SIGNER


def _integral_floats_as_integers(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_floats_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_integers(item) for item in value]
    return value


@schemathesis.hook
def map_body(context, body):
    # JSON Schema's "integer" admits 1.0; the protocol's serde reader takes integers written as
    # integers only (what every booth sends). Write such values as integers, so the run tests
    # the server's rules rather than this spelling.
    return _integral_floats_as_integers(body)
