/**
 * Per-stage CPU cost of the emulator's own request logic, without sockets (complements bench-rps.ts, whose
 * figure also contains Node's HTTP stack and the load generator):  npx tsx emulator/bench-micro.ts
 */
import { Authenticator } from './auth';
import { createClock } from './clock';
import { DEMO } from './demo';
import { createFaultEngine } from './faults';
import { CbrService } from './operations';
import { createCheckpoint, showCheckpoint } from './operations/checkpoints';
import { listBackups } from './operations/backups';
import { createVault, showVault } from './operations/vaults';
import { EmulatorConfig } from './options';
import { Store } from './store';
import { canonicalRequest, formatSdkDate, signatureFor } from './sigv';
import { matchRoute } from './router';

const config = EmulatorConfig.parse({});
const clock = createClock('system');
const store = new Store(config, clock, [...DEMO.projects]);
for (const r of DEMO.resources) {
  store.catalogue.set(r.id, { id: r.id, projectId: r.projectId, type: r.type, name: r.name, sizeGb: r.sizeGb ?? 40, az: 'a', disks: (r.disks ?? []).map((d) => ({ ...d, bootable: !!d.bootable })) });
}
const faults = createFaultEngine(1, () => false);
const svc = new CbrService(store, config, faults);
const auth = new Authenticator(store, config, [...DEMO.credentials], [...DEMO.users]);
const ctx = (o: any) => ({ projectId: DEMO.projectId, now: clock.now(), requestId: 'x', params: {}, query: new URLSearchParams(''), body: undefined, userId: 'u', ...o });
const vault = (createVault(svc, ctx({ body: { vault: { name: 'b', billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 10000 }, resources: DEMO.servers.map((s) => ({ id: s.id, type: 'OS::Nova::Server' })) } } })).body as any).vault;
const cp = (createCheckpoint(svc, ctx({ body: { checkpoint: { vault_id: vault.id } } })).body as any).checkpoint;
const path = `/v3/${DEMO.projectId}/vaults/${vault.id}`;
const headers: Record<string, string> = { 'content-type': 'application/json', host: '127.0.0.1:1', 'x-project-id': DEMO.projectId, 'x-sdk-date': formatSdkDate(Date.now()) };
const signed = ['content-type', 'host', 'x-project-id', 'x-sdk-date'];
headers.authorization = `SDK-HMAC-SHA256 Access=${DEMO.ak}, SignedHeaders=${signed.join(';')}, Signature=${signatureFor(DEMO.sk, headers['x-sdk-date']!, canonicalRequest({ method: 'GET', rawPath: path, rawQuery: '', headers, body: Buffer.alloc(0) }, signed)!)}`;
const req = { method: 'GET', rawPath: path, rawQuery: '', headers, body: Buffer.alloc(0) };
function bench(name: string, f: () => unknown) {
  for (let i = 0; i < 2000; i++) f();
  const n = 20000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(name.padEnd(34), ((performance.now() - t0) * 1000 / n).toFixed(1), 'µs');
}
bench('matchRoute', () => matchRoute('GET', path));
bench('authenticate (AK/SK verify)', () => auth.authenticate(req, clock.now()));
bench('showVault render', () => showVault(svc, ctx({ params: { vault_id: vault.id } })));
bench('showVault render+stringify', () => JSON.stringify(showVault(svc, ctx({ params: { vault_id: vault.id } })).body));
bench('showCheckpoint render+stringify', () => JSON.stringify(showCheckpoint(svc, ctx({ params: { checkpoint_id: cp.id } })).body));
bench('listBackups(checkpoint)+stringify', () => JSON.stringify(listBackups(svc, ctx({ query: new URLSearchParams(`checkpoint_id=${cp.id}`) })).body));
bench('faults.decide (no rules)', () => faults.decide('ShowVault'));
