"""Plain HTTP to the emulator, for what the stripe library would not send
(bad keys, malformed values, raw form encoding)."""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request


def raw(emulator, method, path, params=None, key="sk_test_raw", headers=None, auth="bearer"):
    data = None
    url = emulator.api_base + path
    if params is not None and method == "POST":
        data = urllib.parse.urlencode(params).encode()
    elif params:
        url += "?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(url, data=data, method=method)
    if auth == "bearer" and key:
        req.add_header("Authorization", "Bearer " + key)
    elif auth == "basic":
        req.add_header("Authorization", "Basic " + base64.b64encode((key + ":").encode()).decode())
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())
