/**
 * Builds the CBR port from lib/cbr: one client per (project, region), cached for the container's
 * life (the client keeps its own keep-alive pool). Only the step functions that call CBR import this
 * module; start-run and get-run never do (cold-start rule, checked by test/unit/pipeline/bundles.test.ts).
 */
import { createCbrClient, createIamTokenProvider } from '../cbr';
import type { Config } from '../config';
import type { CbrApi, CbrFactory } from '../ports';
import type { CbrCredentials } from './credentials';

export function cbrFactory(config: Pick<Config, 'CBR_ENDPOINT' | 'IAM_ENDPOINT' | 'CBR_TIMEOUT_MS'>, credentials: () => Promise<CbrCredentials>): CbrFactory {
  const clients = new Map<string, Promise<CbrApi>>();
  return ({ projectId, region }) => {
    const key = `${projectId}|${region}`;
    let client = clients.get(key);
    if (!client) {
      client = credentials().then((creds): CbrApi => {
        const auth =
          creds.type === 'aksk'
            ? { type: 'aksk' as const, ak: creds.ak, sk: creds.sk, ...(creds.securityToken ? { securityToken: creds.securityToken } : {}) }
            : {
                type: 'token' as const,
                tokens: createIamTokenProvider({
                  region,
                  ...(config.IAM_ENDPOINT ? { iamEndpoint: config.IAM_ENDPOINT } : {}),
                  user: { name: creds.user, password: creds.password, domainName: creds.domainName },
                  project: { id: projectId },
                }),
              };
        return createCbrClient({ region, projectId, auth, timeoutMs: config.CBR_TIMEOUT_MS, ...(config.CBR_ENDPOINT ? { endpoint: config.CBR_ENDPOINT } : {}) });
      });
      client.catch(() => clients.delete(key)); // a failed secret read is retried by the next call
      clients.set(key, client);
    }
    return client;
  };
}
