/**
 * A crowd of WebSocket clients in a process of its own: on the other core from the server
 * under test, and able to vanish at once the way real clients do (SIGSTOP: a frozen machine,
 * sockets open and nothing answered; SIGKILL: the kernel closes the sockets).
 *
 * Usage: node --import tsx crowd-process.ts URL COUNT. Prints `ready` once every client holds
 * its first snapshot, then obeys lines on stdin: `open` (how many connections are open),
 * `vanish` (drop every connection without a
 * close), `resume` (all reconnect at once with `since`), `state SEQ` (report, once every client
 * has seen SEQ, how many resumed with recovered:true and the distinct states they hold).
 */
import { createInterface } from 'node:readline';
import { waitFor } from '../helpers.ts';
import { openCrowd } from './crowd.ts';

const [url, countText] = process.argv.slice(2);
const crowd = await openCrowd(url!, Number(countText));
const reply = (line: string) => process.stdout.write(`${line}\n`);
reply('ready');

for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.split(' ');
  if (command === 'open') {
    reply(`open ${crowd.filter((m) => m.ws.readyState === m.ws.OPEN).length}`);
  } else if (command === 'vanish') {
    for (const m of crowd) m.vanish();
    reply('gone');
  } else if (command === 'resume') {
    const started = performance.now();
    await Promise.all(crowd.map((m) => m.resume(url!)));
    await waitFor(() => crowd.every((m) => m.recovered.length === 2), 'every resume answered', 60_000);
    const retries = crowd.reduce((n, m) => n + m.retries, 0);
    reply(`resumed ${JSON.stringify({ ms: Math.round(performance.now() - started), retries })}`);
  } else if (command === 'state') {
    await waitFor(() => crowd.every((m) => m.seq >= Number(arg)), `every client at seq ${arg}`, 30_000);
    const states = new Map<string, number>();
    for (const m of crowd) {
      const json = JSON.stringify(m.snapshot());
      states.set(json, (states.get(json) ?? 0) + 1);
    }
    const recovered = crowd.filter((m) => m.recovered[1] === true).length;
    reply(`state ${JSON.stringify({ recovered, states: [...states] })}`);
  }
}
