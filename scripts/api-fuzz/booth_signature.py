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


def _key():
    with open(os.environ["BOOTH_KEY_FILE"], "rb") as file:
        return Ed25519PrivateKey.from_private_bytes(file.read())


class BoothSignature(requests.auth.AuthBase):
    """Signs the request as prepared, after its body is final."""

    def __init__(self, key, kiosk_id):
        self.key = key
        self.kiosk_id = kiosk_id

    def __call__(self, request):
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
