import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers.ts';

const script = fileURLToPath(new URL('./crowd-process.ts', import.meta.url));

/** A crowd of clients running in a child process (see crowd-process.ts), driven line by line. */
export class CrowdChild {
  private out = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  /** Starts `count` clients; resolves once each holds its first snapshot. */
  static async start(url: string, count: number): Promise<CrowdChild> {
    const crowd = new CrowdChild(
      spawn(process.execPath, ['--import', 'tsx', script, url, String(count)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    await crowd.reply('ready', 60_000);
    return crowd;
  }

  /** Sends a command and returns the JSON after its reply word (or '' when there is none). */
  async command(line: string, answer: string, timeoutMs = 60_000): Promise<string> {
    this.child.stdin!.write(`${line}\n`);
    return this.reply(answer, timeoutMs);
  }

  private async reply(word: string, timeoutMs: number): Promise<string> {
    const line = await waitFor(
      () => this.out.split('\n').find((l) => l === word || l.startsWith(`${word} `)),
      `"${word}" from the crowd process`,
      timeoutMs,
    );
    this.out = this.out.slice(this.out.indexOf(line) + line.length + 1);
    return line.slice(word.length + 1);
  }

  /** Sends a signal: SIGSTOP freezes every client at once, SIGKILL makes the kernel close them. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the process (if still alive) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }
}
