"""Tiny signed S3 calls for scripts/services/s3.sh: `ping` (ListBuckets answers 200) and `mkbucket NAME...`.

Standard library only (AWS Signature Version 4), so starting the store needs no S3 SDK. Reads the endpoint and
credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION. Every request has a
timeout; an existing bucket (409 BucketAlreadyExists/OwnedByYou) counts as created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_request(method: str, path: str) -> urllib.request.Request:
    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    access, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    region = os.environ.get("AWS_REGION", "us-east-1")
    host = urlsplit(endpoint).netloc
    now = dt.datetime.now(dt.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, path, "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
                           EMPTY_SHA256])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{secret}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(endpoint + path, method=method, data=b"" if method == "PUT" else None)
    for k, v in headers.items():
        if k != "host":
            request.add_header(k, v)
    request.add_header("Authorization", f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, "
                                        f"Signature={signature}")
    return request


def status(method: str, path: str) -> int:
    try:
        with urllib.request.urlopen(signed_request(method, path), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def main(argv: list[str]) -> int:
    if argv[:1] == ["ping"]:
        try:
            return 0 if status("GET", "/") == 200 else 1
        except OSError:
            return 1
    if argv[:1] == ["mkbucket"] and len(argv) > 1:
        for bucket in argv[1:]:
            code = status("PUT", f"/{bucket}")
            if code not in (200, 409):
                print(f"[services] s3: creating bucket {bucket} answered HTTP {code}", file=sys.stderr)
                return 1
        return 0
    print("usage: s3_api.py ping | mkbucket NAME...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
