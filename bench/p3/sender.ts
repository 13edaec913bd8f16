/** What each P3 entry bundle exports: a factory for "send one signed ShowCheckpoint, resolve its status". */
export interface SenderOptions {
  endpoint: string;
  region: string;
  projectId: string;
  ak: string;
  sk: string;
  checkpointId: string;
}

export type CreateSender = (o: SenderOptions) => () => Promise<string>;
