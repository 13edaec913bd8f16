/**
 * The default seed used when options are omitted. A local fake: these credentials only open the emulator.
 * The owner project id and the server e8cc6bfd-... come from the Chinese walk-through in the seed docs, the
 * peer project id from the AddMember example, and the AK/SK are the reference's test-vector credentials, so
 * every documented example can be replayed verbatim.
 */
import type { CredentialInput, ProjectInput, ResourceInput, UserInput } from './options';

const OWNER_PROJECT = '0605767b5780d5762fc5c0118072a564';
const PEER_PROJECT = '075e6035d300d48c2fd0c00b78b71ebf';
const REGION = 'ap-southeast-1';
/** A second project of the demo account, in another region (coverage across projects and regions). */
const OTHER_PROJECT = '5d1e4b7a9c0f42e8b3a6d9c2e5f8a1b4';
const OTHER_REGION = 'ap-southeast-3';

const servers = [
  {
    id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f',
    name: 'ecs-9f93-0002',
    tags: { env: 'prod', tier: 'web' },
    disks: [{ id: '5a7a2c1e-6f0b-4d2c-9a51-2d9e4b1c8f01', name: 'ecs-9f93-0002-system', sizeGb: 40, bootable: true }],
  },
  {
    id: '97595625-198e-4e4d-879b-9d53f68ba551',
    name: 'ecs-web-01',
    tags: { env: 'prod', tier: 'web' },
    disks: [
      { id: '0b1c2d3e-4f50-4a61-8b72-9c83d4e5f601', name: 'ecs-web-01-system', sizeGb: 40, bootable: true },
      { id: '1c2d3e4f-5061-4b72-9c83-ad94e5f60712', name: 'ecs-web-01-data', sizeGb: 100 },
    ],
  },
  {
    id: '3f6c9a1b-2d4e-4f70-8a1b-6c2d3e4f5a6b',
    name: 'ecs-db-01',
    tags: { env: 'prod', tier: 'db' },
    disks: [
      { id: '2d3e4f50-6172-4c83-8d94-be05f6071823', name: 'ecs-db-01-system', sizeGb: 50, bootable: true },
      { id: '3e4f5061-7283-4d94-9ea5-cf1607182934', name: 'ecs-db-01-data', sizeGb: 200 },
    ],
  },
  {
    id: '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d',
    name: 'ecs-app-01',
    tags: { env: 'staging', tier: 'app' },
    disks: [{ id: '4f506172-8394-4ea5-afb6-d02718293a45', name: 'ecs-app-01-system', sizeGb: 40, bootable: true }],
  },
] as const;

/** Servers seeded as deleted (status "deleted"; ListProtectable shows them only with status=deleted). */
const deletedServers = [
  {
    id: '8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e',
    name: 'ecs-old-01',
    tags: { env: 'prod', tier: 'web' },
    disks: [{ id: '506172a3-94b5-4fc6-a7d8-e9f0a1b2c3d4', name: 'ecs-old-01-system', sizeGb: 40, bootable: true }],
  },
] as const;

/** The servers of the second demo project (OTHER_PROJECT, OTHER_REGION); in no vault at start. */
const otherServers = [
  {
    id: 'e1f20314-2536-4748-896a-7b8c9d0e1f20',
    name: 'ecs-batch-01',
    tags: { env: 'prod', tier: 'batch' },
    disks: [{ id: 'f2031425-3647-4859-9a6b-7c8d9e0f1a2b', name: 'ecs-batch-01-system', sizeGb: 40, bootable: true }],
  },
] as const;

const volumes = [
  { id: '9b2e7c4a-1d3f-4e5a-8b6c-7d8e9f0a1b2c', name: 'evs-archive-01', sizeGb: 100 },
  { id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', name: 'evs-logs-01', sizeGb: 20 },
] as const;

const peerServers = [
  {
    id: 'c4d5e6f7-0819-4a2b-bc3d-4e5f60718293',
    name: 'ecs-peer-01',
    disks: [{ id: 'd5e6f708-192a-4b3c-8d4e-5f6071829304', name: 'ecs-peer-01-system', sizeGb: 40, bootable: true }],
  },
] as const;

const projects: ProjectInput[] = [
  { id: OWNER_PROJECT, name: REGION, domainName: 'cbr-demo' },
  { id: PEER_PROJECT, name: REGION, domainName: 'cbr-peer' },
  { id: OTHER_PROJECT, name: OTHER_REGION, domainName: 'cbr-demo' },
];

const credentials: CredentialInput[] = [
  { ak: 'HPUAEXAMPLEAK0000001', sk: 'ExampleSecretKey0000000000000000000000001', domainName: 'cbr-demo' },
  { ak: 'HPUAEXAMPLEPEERAK001', sk: 'ExampleSecretKeyPeer00000000000000000001', domainName: 'cbr-peer' },
];

const users: UserInput[] = [
  { name: 'cbr-operator', password: 'Emulator-Passw0rd!', domainName: 'cbr-demo' },
  { name: 'peer-operator', password: 'Emulator-Peer-Passw0rd!', domainName: 'cbr-peer' },
];

const resources: ResourceInput[] = [
  ...servers.map((s) => ({ id: s.id, projectId: OWNER_PROJECT, type: 'OS::Nova::Server' as const, name: s.name, tags: { ...s.tags }, disks: s.disks.map((d) => ({ ...d })) })),
  ...deletedServers.map((s) => ({ id: s.id, projectId: OWNER_PROJECT, type: 'OS::Nova::Server' as const, name: s.name, tags: { ...s.tags }, deleted: true, disks: s.disks.map((d) => ({ ...d })) })),
  ...otherServers.map((s) => ({ id: s.id, projectId: OTHER_PROJECT, type: 'OS::Nova::Server' as const, name: s.name, tags: { ...s.tags }, disks: s.disks.map((d) => ({ ...d })) })),
  ...volumes.map((v) => ({ id: v.id, projectId: OWNER_PROJECT, type: 'OS::Cinder::Volume' as const, name: v.name, sizeGb: v.sizeGb })),
  ...peerServers.map((s) => ({ id: s.id, projectId: PEER_PROJECT, type: 'OS::Nova::Server' as const, name: s.name, disks: s.disks.map((d) => ({ ...d })) })),
];

export const DEMO = {
  region: REGION,
  ak: credentials[0]!.ak,
  sk: credentials[0]!.sk,
  projectId: OWNER_PROJECT,
  projectName: REGION,
  domainName: 'cbr-demo',
  user: { name: users[0]!.name, password: users[0]!.password, domainName: users[0]!.domainName },
  peerProjectId: PEER_PROJECT,
  peer: {
    projectId: PEER_PROJECT,
    projectName: REGION,
    domainName: 'cbr-peer',
    ak: credentials[1]!.ak,
    sk: credentials[1]!.sk,
    user: { name: users[1]!.name, password: users[1]!.password, domainName: users[1]!.domainName },
    servers: peerServers,
  },
  /** A second project of the demo account (same credentials), in another region. */
  other: { projectId: OTHER_PROJECT, region: OTHER_REGION, servers: otherServers },
  servers,
  deletedServers,
  volumes,
  /** The full seed in option form. */
  projects,
  credentials,
  users,
  resources,
} as const;
