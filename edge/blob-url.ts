/** Where a blob GET is redirected, computed at the edge without asking the origin. */

import { AwsClient } from 'aws4fetch';
import type { Digest } from '../shared/digest.ts';
import { contentKey } from '../shared/keys.ts';
import type { BlobRedirect } from './config.ts';

/** The URL a client fetches the blob from (a 307 target). */
export async function blobLocation(redirect: BlobRedirect, repositoryName: string, digest: Digest): Promise<string> {
  const key = contentKey(digest);
  switch (redirect.mode) {
    case 'r2-public':
      return `${redirect.publicUrl}/${key}`;
    case 'origin':
      return `${redirect.originUrl}/v2/${repositoryName}/blobs/${digest}`;
    case 'r2-presigned': {
      const client = new AwsClient({
        accessKeyId: redirect.accessKeyId,
        secretAccessKey: redirect.secretAccessKey,
        service: 's3',
        region: 'auto',
      });
      const url = new URL(`${redirect.endpoint}/${redirect.bucket}/${key}`);
      url.searchParams.set('X-Amz-Expires', String(redirect.expirySeconds));
      const signed = await client.sign(new Request(url, { method: 'GET' }), { aws: { signQuery: true } });
      return signed.url;
    }
  }
}
