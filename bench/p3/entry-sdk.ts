/**
 * P3 entry, the peer: the official Huawei Node SDK core 3.1.211 sending the same ShowCheckpoint, built
 * as cbr-api.md §9.5 does (ClientBuilder + BasicCredentials + a minimal client whose request options are
 * shaped like the generated CbrClient's). Generous to the SDK: the generated
 * @huaweicloud/huaweicloud-sdk-cbr package (its model classes) is not bundled, only the core.
 */
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials';
import type { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient';
import type { CreateSender } from './sender';

class MiniClient {
  constructor(readonly hc: HcClient) {}
  send(o: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.hc.sendRequest(o as never) as Promise<Record<string, unknown>>;
  }
}

export const createSender: CreateSender = (o) => {
  const client = new ClientBuilder((hc: HcClient) => new MiniClient(hc))
    .withCredential(new BasicCredentials().withAk(o.ak).withSk(o.sk).withProjectId(o.projectId))
    .withEndpoint(o.endpoint)
    .build();
  return async () => {
    const res = await client.send({
      method: 'GET',
      url: '/v3/{project_id}/checkpoints/{checkpoint_id}',
      contentType: 'application/json',
      queryParams: {},
      pathParams: { checkpoint_id: o.checkpointId },
      headers: {},
    });
    return (res.checkpoint as { status: string }).status;
  };
};
