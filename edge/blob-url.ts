/** Where a blob GET is redirected, computed at the edge without asking the origin. */

import { AwsClient } from 'aws4fetch';
import type { Digest } from '../shared/digest.ts';
import { contentKey } from '../shared/keys.ts';
import { RegistryError } from '../shared/errors.ts';
import type { BlobRedirect } from './config.ts';
import { signGcsUrl } from './gcs-signing.ts';

/** The URL a client fetches the blob from (a 307 target). */
export async function blobLocation(redirect: BlobRedirect, repositoryName: string, digest: Digest): Promise<string> {
  const key = contentKey(digest);
  switch (redirect.mode) {
    case 'r2-public':
    case 'gcs-public':
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
    case 'gcs-signed':
      try {
        return await signGcsUrl({
          bucket: redirect.bucket,
          objectKey: key,
          serviceAccountEmail: redirect.serviceAccountEmail,
          privateKeyPem: redirect.privateKeyPem,
          expirySeconds: redirect.expirySeconds,
          now: new Date(),
          scheme: redirect.scheme,
          host: redirect.host,
        });
      } catch (error) {
        // A key that parses as JSON but does not import: say so, without the key.
        throw new RegistryError('UNKNOWN', `The edge is misconfigured: GCS_SERVICE_ACCOUNT_KEY: ${error instanceof Error ? error.message : String(error)}`);
      }
  }
}

/**
 * The Cache-Control of a blob redirect: a signed URL expires, so its redirect may be cached only
 * briefly and privately; a public URL's redirect may be shared.
 */
export function redirectCacheControl(redirect: BlobRedirect): string {
  return redirect.mode === 'r2-presigned' || redirect.mode === 'gcs-signed' ? 'private, max-age=60' : 'public, max-age=3600';
}
