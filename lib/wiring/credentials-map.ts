/**
 * CBR_CREDENTIALS_MAP's syntax (lib/wiring/credentials.ts reads the secrets): `{"<projectId>": "<secret
 * ref>", "*": "<default ref>"}`. Checked by lib/config.ts at load, so a bad map stops the container at
 * cold start with the project key and what is wrong. No imports: config.ts (every function) uses it.
 */

/** The default entry of CBR_CREDENTIALS_MAP: every project without its own. */
export const DEFAULT_PROJECT_KEY = '*';
const PROJECT_KEY = /^[0-9a-f]{32}$/;
const SM_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SM_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const SSM_REF = /^ssm:\/?[A-Za-z0-9_.\-/]{1,2048}$/;
const SSM_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9_.\-/]+$/;

/** One entry of CBR_CREDENTIALS_MAP: a secret reference, or (local stage) the credentials inline. */
export type CredentialsRef = string | Record<string, unknown>;

/**
 * Parse CBR_CREDENTIALS_MAP, naming the project key and what is wrong with it (never a value).
 * Returns the entries, or the issues (path = the key).
 */
export function parseCredentialsMap(text: string, stage: string): { entries: Map<string, CredentialsRef>; issues: Array<{ key: string; message: string }> } {
  const entries = new Map<string, CredentialsRef>();
  const issues: Array<{ key: string; message: string }> = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { entries, issues: [{ key: '', message: 'is not valid JSON (expected {"<projectId>": "<secret ref>", "*": "<default ref>"})' }] };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { entries, issues: [{ key: '', message: 'must be a JSON object {"<projectId>": "<secret ref>", "*": "<default ref>"}' }] };
  }
  for (const [key, ref] of Object.entries(parsed)) {
    if (key !== DEFAULT_PROJECT_KEY && !PROJECT_KEY.test(key)) {
      issues.push({ key, message: `is not a project id: keys must be 32 lowercase hex characters, or "${DEFAULT_PROJECT_KEY}" for the default` });
      continue;
    }
    if (typeof ref === 'string') {
      if (ref.startsWith('arn:') ? !(SM_ARN.test(ref) || SSM_ARN.test(ref)) : ref.startsWith('ssm:') ? !SSM_REF.test(ref) : !SM_NAME.test(ref)) {
        issues.push({ key, message: 'is not a secret reference: use a Secrets Manager secret name or ARN, or ssm:<parameter name> (or an SSM parameter ARN)' });
        continue;
      }
      entries.set(key, ref);
    } else if (typeof ref === 'object' && ref !== null && !Array.isArray(ref)) {
      if (stage !== 'local') {
        issues.push({ key, message: 'inline credentials are only allowed when STAGE=local; give a secret reference' });
        continue;
      }
      entries.set(key, ref as Record<string, unknown>);
    } else {
      issues.push({ key, message: `must be a secret reference (a string)${stage === 'local' ? ' or, locally, the credentials object' : ''}` });
    }
  }
  if (entries.size === 0 && issues.length === 0) issues.push({ key: '', message: 'has no entries' });
  return { entries, issues };
}
