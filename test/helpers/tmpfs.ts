/**
 * A small filesystem of its own for a data dir, so a test can fill the disk:
 * a tmpfs mounted on a temp dir (needs root or CAP_SYS_ADMIN, as in CI and
 * on the developers' machines). When mounting is not permitted the error
 * says so plainly instead of the test failing somewhere obscure.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Free bytes as an unprivileged writer sees them. */
  free(): number;
  /** Writes a ballast file leaving about `leaveBytes` free; returns its path. */
  fillLeaving(leaveBytes: number, name?: string): string;
  unmount(): void;
}

export function mountSmallDisk(sizeMiB: number): SmallDisk {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-smalldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const said = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new Error(
      `the disk-full test mounts a ${sizeMiB} MiB tmpfs as the data dir and needs root or CAP_SYS_ADMIN to do so (mount said: ${said}). ` +
        'Run the suite as root (CI does), or in a container with --cap-add SYS_ADMIN.',
    );
  }
  const free = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    free,
    fillLeaving(leaveBytes, name = 'ballast.bin') {
      const file = path.join(dir, name);
      const fd = openSync(file, 'w');
      const chunk = Buffer.alloc(1024 * 1024, 0x5a);
      try {
        while (free() - chunk.length > leaveBytes) writeSync(fd, chunk);
        const rest = free() - leaveBytes;
        if (rest > 0) writeSync(fd, chunk, 0, Math.min(rest, chunk.length));
      } finally {
        closeSync(fd);
      }
      return file;
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } catch {
        // already unmounted
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file (used to prove the disk is really full). */
export function tryWrite(file: string, bytes: number): boolean {
  try {
    writeFileSync(file, Buffer.alloc(bytes));
    rmSync(file, { force: true });
    return true;
  } catch {
    return false;
  }
}
