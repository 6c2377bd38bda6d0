/**
 * Loopback UDP port pairs (RTP on an even port, RTCP on the next) for the
 * recorder's ffmpeg to listen on.
 *
 * ffmpeg binds the ports itself, after we wrote them into its SDP, so there is
 * a window in which something else could take them. Three things keep that
 * from happening in practice: the range lies outside the kernel's ephemeral
 * range (sockets bound to port 0 never get these ports), every pair handed out
 * is remembered until released (no two sessions of this process share one),
 * and each pair is test-bound before it is handed out, starting from a random
 * place in the range (so two servers on one machine rarely even try the same
 * pair). Should ffmpeg still fail to bind, the recording fails at once and the
 * recording manager starts a new one on new ports.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { AppError } from '../../errors.js';

export class PortAllocator {
  private readonly taken = new Set<number>();

  constructor(
    private readonly options: {
      /** Inclusive range the pairs are taken from. */
      range: readonly [number, number];
      /** Address ffmpeg binds (and the test binds). */
      host: string;
    },
  ) {}

  /** Reserves `count` free pairs; returns the even (RTP) port of each. */
  async allocate(count: number): Promise<number[]> {
    const out: number[] = [];
    try {
      for (let i = 0; i < count; i++) out.push(await this.allocateOne());
    } catch (err) {
      this.release(out);
      throw err;
    }
    return out;
  }

  /** Gives pairs back. */
  release(ports: readonly number[]): void {
    for (const p of ports) this.taken.delete(p);
  }

  private async allocateOne(): Promise<number> {
    const [min, max] = this.options.range;
    const first = min + (min % 2);
    const pairs = Math.floor((max - first - 1) / 2) + 1;
    if (pairs <= 0) throw new AppError('no_recorder_port', `whip.recorderPortRange ${min}-${max} holds no port pair`, 503);
    const start = randomInt(pairs);
    // Bounded: a full scan of a busy range would stall the request for too long.
    const attempts = Math.min(pairs, 64);
    for (let i = 0; i < attempts; i++) {
      const port = first + ((start + i) % pairs) * 2;
      if (this.taken.has(port)) continue;
      this.taken.add(port);
      if ((await canBind(port, this.options.host)) && (await canBind(port + 1, this.options.host))) return port;
      this.taken.delete(port);
    }
    throw new AppError('no_recorder_port', `no free UDP port pair in whip.recorderPortRange ${min}-${max}`, 503);
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}
