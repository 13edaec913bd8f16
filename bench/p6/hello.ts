/** P6's reference: a bare middy hello-world, bundled exactly like the functions. */
import middy from '@middy/core';

export const handler = middy().handler(async () => ({ statusCode: 200, body: 'hello' }));
