// Starts a cbr-flow run: POST /runs signed with Standard Webhooks. A complete program:
//   node examples/post-run.mjs examples/run-request.json
// Endpoint: $CBR_FLOW_URL, else the local stack's (its data folder's stack.json). Key: $CBR_FLOW_WEBHOOK_KEY
// (a whsec_ key), else the local stack's webhook-keys.json (the first, newest key). The local stack's data
// folder is $CBR_FLOW_DATA_DIR, else .data (run from the project root).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks'; // npm install standardwebhooks

const file = process.argv[2];
if (!file) {
  console.error('usage: node examples/post-run.mjs <run-request.json>');
  process.exit(2);
}
const data = process.env.CBR_FLOW_DATA_DIR ?? '.data';
const api = process.env.CBR_FLOW_URL ?? JSON.parse(readFileSync(`${data}/stack.json`, 'utf8')).url;
const key = process.env.CBR_FLOW_WEBHOOK_KEY ?? JSON.parse(readFileSync(`${data}/webhook-keys.json`, 'utf8')).keys[0];

const body = readFileSync(file, 'utf8'); // the signature covers these exact bytes
const id = `msg_${randomUUID()}`; // unique per message; reuse it only to retry this message
const at = new Date(); // the timestamp is seconds since the epoch: the host's time zone plays no part
const headers = {
  'content-type': 'application/json',
  'webhook-id': id,
  'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  'webhook-signature': new Webhook(key).sign(id, at, body),
};
const res = await fetch(`${api}/runs`, { method: 'POST', headers, body });
console.log(res.status, await res.text());
process.exit(res.status === 202 ? 0 : 1);
