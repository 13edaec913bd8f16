import { CbrValidationError } from './errors';

/** CBR regions of the Go SDK's services/cbr/v1/region/region.go (cbr-api.md §10), 34 entries. */
export const CBR_REGIONS = [
  'af-north-1', 'af-south-1', 'ae-ad-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3',
  'ap-southeast-4', 'ap-southeast-5', 'cn-east-2', 'cn-east-3', 'cn-east-4', 'cn-east-5', 'cn-north-1',
  'cn-north-2', 'cn-north-4', 'cn-north-9', 'cn-north-11', 'cn-north-12', 'cn-south-1', 'cn-south-2',
  'cn-south-4', 'cn-southwest-2', 'cn-southwest-3', 'eu-west-0', 'eu-west-101', 'la-north-2',
  'la-south-2', 'me-east-1', 'my-kualalumpur-1', 'na-mexico-1', 'ru-moscow-1', 'ru-northwest-2',
  'sa-brazil-1', 'tr-west-1',
] as const;

export type CbrRegion = (typeof CBR_REGIONS)[number];

export function isKnownRegion(region: string): region is CbrRegion {
  return (CBR_REGIONS as readonly string[]).includes(region);
}

export interface ResolvedEndpoint {
  /** `scheme://host[:port]` */
  origin: string;
  /** Path prefix without trailing slash ('' for none), e.g. when behind a path-based proxy. */
  basePath: string;
}

/**
 * `https://{service}.{region}.myhuaweicloud.com` unless `override` is given (callers pass CBR_ENDPOINT /
 * IAM_ENDPOINT, e.g. the local emulator). Without an override the region must be one of the 34 known
 * ones; with one, any non-empty region is accepted (the override decides where requests go).
 */
export function resolveEndpoint(service: 'cbr' | 'iam', region: string, override: string | undefined, field: string): ResolvedEndpoint {
  if (typeof region !== 'string' || region.trim() === '') {
    throw new CbrValidationError('options.region', 'is required');
  }
  // `{region}` in an override is this client's region (one endpoint template for every region, e.g. the
  // local emulator's `http://127.0.0.1:<port>/{region}`, which serves each region under its own prefix).
  let raw = override?.replaceAll('{region}', region);
  if (raw === undefined || raw === '') {
    if (!isKnownRegion(region)) {
      throw new CbrValidationError(
        'options.region',
        `unknown region ${JSON.stringify(region)}; use one of ${CBR_REGIONS.join(', ')}, or pass an endpoint override`,
      );
    }
    raw = `https://${service}.${region}.myhuaweicloud.com`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new CbrValidationError(field, `must be an absolute http(s) URL, got ${JSON.stringify(raw)}`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CbrValidationError(field, `must use http or https, got ${JSON.stringify(url.protocol)}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new CbrValidationError(field, 'must not contain credentials, a query or a fragment');
  }
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}
