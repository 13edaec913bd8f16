/**
 * The local stage's token issuer: what an OIDC provider (Cognito, Auth0, Entra ID, Keycloak, ...) is
 * for a deployed API. An ES256 key pair generated once and kept in the data folder next to the webhook
 * keys (`<dataDir>/jwt-issuer.json`, mode 0600, removed by `npm start -- --reset`), with the issuer and
 * audience of the packaged template's JWT authorizer. The local HTTP API verifies bearer tokens with its
 * public key exactly as API Gateway's JWT authorizer does (signature, `iss`, `aud`/`client_id`, `exp`,
 * `nbf`); the CLI and the demo mint short-lived tokens with it. Never used by a deployed stage.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { PROJECTS_CLAIM } from '../lib/pipeline/edge/read-scope';
import { LocalRuntimeError } from './errors';
import { DEFAULT_DATA_DIR } from './webhook-keys';

export const JWT_ISSUER_FILE = 'jwt-issuer.json';
const ALG = 'ES256';

interface IssuerFile { privateKey: JWK; issuer: string; audience: string }

export interface LocalIssuer {
  issuer: string;
  audience: string;
  file: string | undefined;
  /** A token for `projects` (`'*'` = every project), valid `ttlSeconds` (default 1 h). */
  mint(claims: { sub: string; projects: readonly string[] | '*' }, ttlSeconds?: number): Promise<string>;
  /** The verified payload, or throws (jose's error: expired, bad signature, wrong issuer/audience, ...). */
  verify(token: string, expected: { issuer: string; audience: readonly string[] }): Promise<JWTPayload>;
}

async function issuerOf(doc: IssuerFile, file: string | undefined): Promise<LocalIssuer> {
  const privateKey = await importJWK(doc.privateKey, ALG);
  const { d: _d, ...publicJwk } = doc.privateKey;
  const publicKey = await importJWK(publicJwk, ALG);
  return {
    issuer: doc.issuer,
    audience: doc.audience,
    file,
    mint: ({ sub, projects }, ttlSeconds = 3600) =>
      new SignJWT({ [PROJECTS_CLAIM]: projects === '*' ? '*' : [...projects] })
        .setProtectedHeader({ alg: ALG, kid: 'local' })
        .setSubject(sub)
        .setIssuer(doc.issuer)
        .setAudience(doc.audience)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(privateKey),
    verify: async (token, expected) => {
      // API Gateway accepts the audience in `aud` or, for access tokens without one, in `client_id`.
      const { payload } = await jwtVerify(token, publicKey, { issuer: expected.issuer, algorithms: [ALG], clockTolerance: 0 });
      const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      const clientId = typeof payload.client_id === 'string' ? [payload.client_id] : [];
      if (![...aud, ...clientId].some((a) => expected.audience.includes(a))) throw new LocalRuntimeError('the token is not for this audience');
      return payload;
    },
  };
}

function readIssuerFile(file: string): IssuerFile {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<IssuerFile>;
    if (typeof doc.privateKey !== 'object' || typeof doc.issuer !== 'string' || typeof doc.audience !== 'string') throw new Error('missing privateKey, issuer or audience');
    return doc as IssuerFile;
  } catch (err) {
    throw new LocalRuntimeError(`${file} is not a local token issuer (${(err as Error).message}); remove it (or run \`npm start -- --reset\`) to make a new one`, { cause: err });
  }
}

/** The issuer in `<dataDir>/jwt-issuer.json`, or undefined when there is none (no local stack started yet). */
export async function readLocalIssuer(dataDir: string = DEFAULT_DATA_DIR): Promise<LocalIssuer | undefined> {
  const file = join(dataDir, JWT_ISSUER_FILE);
  return existsSync(file) ? issuerOf(readIssuerFile(file), file) : undefined;
}

/**
 * The local issuer for the template's authorizer: the stored key pair (re-labelled if the template's
 * issuer or audience changed), or a new one stored there (in memory only without a data folder).
 */
export async function loadOrCreateLocalIssuer(dataDir: string | undefined, expected: { issuer: string; audience: string }): Promise<LocalIssuer> {
  const file = dataDir === undefined ? undefined : join(dataDir, JWT_ISSUER_FILE);
  let doc: IssuerFile | undefined = file && existsSync(file) ? readIssuerFile(file) : undefined;
  if (!doc || doc.issuer !== expected.issuer || doc.audience !== expected.audience) {
    const privateKey = doc?.privateKey ?? (await exportJWK((await generateKeyPair(ALG, { extractable: true })).privateKey));
    doc = { privateKey, issuer: expected.issuer, audience: expected.audience };
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(doc)}\n`, { mode: 0o600 });
    }
  }
  return issuerOf(doc, file);
}

/**
 * Claims as API Gateway's JWT authorizer hands them to the function (payload 2.0): every value a
 * string; arrays rendered `[a b]`, objects as JSON.
 */
export function gatewayClaims(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    out[k] = typeof v === 'string' ? v : Array.isArray(v) ? `[${v.map(String).join(' ')}]` : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  }
  return out;
}
