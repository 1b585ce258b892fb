// Test support: a Reprise dev server started by the test on a free 127.0.0.1 port with a fresh SQLite
// file, and stopped by its PID afterwards. Its log is kept and printed if a test fails.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export class DevServer {
  log = '';
  private constructor(
    readonly address: string,
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  // Resolves once the server says it is listening; rejects if it exits first. extraArgs go to
  // `reprise server start-dev`.
  static async start(reprise: string, extraArgs: string[] = []): Promise<DevServer> {
    const port = await freeLoopbackPort();
    const dir = mkdtempSync(join(tmpdir(), 'reprise-interop-'));
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
    args.push('--db-filename', join(dir, 'interop.db'), '--log-level', process.env.REPRISE_LOG_LEVEL ?? 'info');
    args.push(...extraArgs);
    const child = spawn(reprise, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new DevServer(`127.0.0.1:${port}`, dir, child);
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        server.log += chunk.toString();
        if (server.log.includes('listening on')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`reprise exited with ${code} before listening:\n${server.log}`)));
    });
    return server;
  }

  // SIGTERM by PID, then wait for the process to exit; the SQLite file goes with the folder.
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      process.kill(this.child.pid!, 'SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
