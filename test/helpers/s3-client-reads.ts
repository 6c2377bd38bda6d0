/** Reads through any S3 client (a second user's, the harness's own): the bytes of an object, the keys under a prefix. */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export async function getFrom(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** The keys under `prefix`, sorted (one page: the tests' buckets hold few objects). */
export async function list(client: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}
