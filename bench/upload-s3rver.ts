/**
 * s3rver for `bench:upload`, in its own process so its CPU and memory do not
 * count as the uploader's. Prints `{"port":N}` once listening, then one JSON
 * line per stored part (`{"part":N,"key":"…"}`) so the benchmark can count
 * the parts each client used.
 */
import S3rver from 's3rver';
import type { KoaContext } from 's3rver';
import { addMultipartOperations } from '../test/helpers/s3rver/s3rver-multipart.js';

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
server.middleware.splice(server.middleware.length - 1, 0, async (ctx: KoaContext, next: () => Promise<void>) => {
  await next();
  if (ctx.method === 'PUT' && ctx.query.partNumber && ctx.status === 200) process.stdout.write(`${JSON.stringify({ part: Number(ctx.query.partNumber), key: ctx.path.split('/').slice(2).join('/') })}\n`);
});
addMultipartOperations(server);
const addr = await server.run();
process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
process.on('SIGTERM', () => void server.close().finally(() => process.exit(0)));
