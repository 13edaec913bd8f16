#!/usr/bin/env python3
"""Starts a cbr-flow run: POST /runs signed with Standard Webhooks. A complete program, standard
library only (the `standardwebhooks` PyPI package signs the same way):
    python3 examples/post_run.py examples/run-request.json
Endpoint: $CBR_FLOW_URL, else the local stack's (its data folder's stack.json). Key: $CBR_FLOW_WEBHOOK_KEY
(a whsec_ key), else the local stack's webhook-keys.json (the first, newest key). The local stack's data
folder is $CBR_FLOW_DATA_DIR, else .data (run from the project root)."""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

if len(sys.argv) != 2:
    sys.exit("usage: python3 examples/post_run.py <run-request.json>")
data = os.environ.get("CBR_FLOW_DATA_DIR", ".data")
api = os.environ.get("CBR_FLOW_URL")
if api is None:
    with open(os.path.join(data, "stack.json"), encoding="utf-8") as f:
        api = json.load(f)["url"]
key = os.environ.get("CBR_FLOW_WEBHOOK_KEY")
if key is None:
    with open(os.path.join(data, "webhook-keys.json"), encoding="utf-8") as f:
        key = json.load(f)["keys"][0]

with open(sys.argv[1], "rb") as f:
    body = f.read()  # the signature covers these exact bytes
msg_id = f"msg_{uuid.uuid4()}"  # unique per message; reuse it only to retry this message
timestamp = str(int(time.time()))  # seconds since the epoch: the host's time zone plays no part
secret = base64.b64decode(key.removeprefix("whsec_"))
signed = f"{msg_id}.{timestamp}.".encode() + body
signature = "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()

request = urllib.request.Request(f"{api}/runs", data=body, method="POST", headers={
    "content-type": "application/json",
    "webhook-id": msg_id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signature,
})
try:
    with urllib.request.urlopen(request) as res:
        print(res.status, res.read().decode())
except urllib.error.HTTPError as err:
    print(err.code, err.read().decode())
    sys.exit(1)
