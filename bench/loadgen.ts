/**
 * A load generator process: holds a share of the run's WebSocket clients, subscribes them,
 * and counts what reaches them. It never parses a whole frame: deliveries are occurrences of
 * `"type":"quote"`, and latency is read from the `"ts":"…"` fields of sampled clients only.
 * Clients are raw sockets with the minimal WebSocket client of `ws-frames.ts`, not `ws`, reading
 * into one shared buffer without the readable stream, and deliveries are found with
 * `ws-frames-needle.ts`: at a million deliveries a second the `ws` client's per-frame work, a
 * stream event per read and a multi-byte `indexOf` per delivery took most of this process's core.
 */
import { performance } from 'node:perf_hooks';
import { SYMBOL_COUNT, SYMBOLS } from './feed.ts';
import type { ClientProtocol, LoadCommand, LoadReport } from './ipc.ts';
import { hiResNow, recordStamps, StampSamples, type StampTable } from './stamps.ts';
import { clientSymbols, isStalled, type Workload } from './workload.ts';
import { Needle } from './ws-frames-needle.ts';
import { NativeLoad } from './native-load.ts';
import { FrameReader, messageFrame, openWebSocket } from './ws-frames.ts';

/** A delivery; found by its rare `q` (see `ws-frames-needle.ts`). */
const QUOTE = new Needle(Buffer.from('"type":"quote"'), 8);
/** Connections opening at once: more overflows the server's accept backlog. */
const CONNECT_CONCURRENCY = 100;
/** Every Nth client records latency: enough samples, bounded work. */
const SAMPLE_EVERY = 10;
/**
 * Every socket reads into this one buffer: a read is handled before the next starts. Larger
 * than the stream's 64 KB so a socket with much queued is emptied in fewer reads.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

const report = (message: LoadReport) => process.send?.(message);

let deliveries = 0;
let frames = 0;
let wireBytes = 0;
let lastReceiptAt = 0;
/** Close codes of clients the server closed after they subscribed, with how many each. */
const closedBy: Record<string, number> = {};
let measureFrom = Infinity;
let samples = new StampSamples();
let cpuAtStart = process.cpuUsage();
let wallAtStart = performance.now();

/** A message received after subscribing; `header`: the frame-header bytes it came in. */
const receive = (data: Buffer, header: number, sampled: boolean) => {
  const now = hiResNow();
  frames++;
  wireBytes += data.length + header;
  const n = QUOTE.count(data);
  if (n === 0) return;
  deliveries += n;
  lastReceiptAt = now;
  if (sampled) recordStamps(samples, data, now);
};

/**
 * The bytes that open a session and subscribe, per protocol: `open` goes out once the WebSocket
 * is open, `answer` when the server is ready for the subscription (socket.io's namespace
 * connect, MQTT's CONNACK), and `reply` says what answers a received message. The C data plane
 * (`bench/native/loadgen.c`) follows the same rules with `open` and `answer`.
 */
const session = (protocol: ClientProtocol, symbols: string[] | undefined, clientId: string) => {
  switch (protocol) {
    case 'json':
      return {
        open: JSON.stringify({ op: 'subscribe', channel: 'quotes', ...(symbols && { symbols }) }),
        answer: undefined,
        reply: (_data: Buffer): string | Buffer | undefined => undefined,
        subscribed: (data: Buffer) => data.includes('"type":"subscribed"'),
      };
    case 'socketio': {
      const answer = `42${JSON.stringify(['subscribe', { symbols }])}`;
      return {
        open: undefined,
        answer,
        // Engine.io: "0{…}" open → connect the namespace with "40"; "40{…}" → subscribe; "2" ping → "3".
        reply: (data: Buffer): string | undefined => {
          if (data[0] === 0x30 && data[1] !== 0x34) return '40';
          if (data[0] === 0x34 && data[1] === 0x30) return answer;
          if (data.length === 1 && data[0] === 0x32) return '3';
          return undefined;
        },
        subscribed: (data: Buffer) => data.includes('"subscribed"'),
      };
    }
    case 'mqtt': {
      const answer = mqttSubscribe(symbols?.map((s) => `q/${s}`) ?? ['q/#']);
      return {
        open: mqttConnect(clientId),
        answer,
        reply: (data: Buffer): Buffer | undefined => (data[0] === 0x20 ? answer : undefined),
        subscribed: (data: Buffer) => data[0] === 0x90,
      };
    }
  }
};

const mqttString = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const mqttPacket = (type: number, body: Buffer) => {
  const length: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    length.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([type, ...length]), body]);
};
/** MQTT 3.1.1 CONNECT, clean session, keep-alive off (the run is shorter than any timeout). */
const mqttConnect = (clientId: string) =>
  mqttPacket(0x10, Buffer.concat([mqttString('MQTT'), Buffer.from([4, 0x02, 0, 0]), mqttString(clientId)]));
const mqttSubscribe = (topics: string[]) =>
  mqttPacket(
    0x82,
    Buffer.concat([
      Buffer.from([0, 1]),
      ...topics.map((t) => Buffer.concat([mqttString(t), Buffer.from([0])])),
    ]),
  );

const connectClient = async (
  protocol: ClientProtocol,
  url: string,
  workload: Workload,
  i: number,
): Promise<void> => {
  const symbols = clientSymbols(workload, i)?.map((s) => SYMBOLS[s]!);
  const s = session(protocol, symbols, `bench-${process.pid}-${i}`);
  const { socket, head, onChunk } = await openWebSocket(
    url,
    protocol === 'mqtt' ? 'mqtt' : undefined,
    {},
    READ_BUFFER,
  );
  const sampled = i % SAMPLE_EVERY === 0;
  return new Promise((resolve, reject) => {
    let ready = false;
    /** The server's close code; none when the connection ended without a close frame. */
    let closeCode: number | undefined;
    const send = (message: string | Buffer) => socket.write(messageFrame(message));
    const reader = new FrameReader(
      {
        message: (data, header) => {
          const answer = s.reply(data);
          if (answer !== undefined) send(answer);
          if (ready) return receive(data, header, sampled);
          if (!s.subscribed(data)) return;
          ready = true;
          // A stalled client stops reading: the server sees TCP back-pressure, as from a slow phone.
          if (isStalled(workload, i)) socket.pause();
          resolve();
        },
        send: (frame) => socket.write(frame),
        close: (code) => {
          closeCode = code;
          socket.end();
        },
        error: (err) => socket.destroy(err),
      },
      true,
    );
    onChunk((chunk) => reader.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      reader.stop();
      const code = closeCode ?? 1006;
      if (!ready) reject(new Error(`client ${i} closed with ${code} before subscribing`));
      else closedBy[code] = (closedBy[code] ?? 0) + 1;
    });
    if (s.open !== undefined) send(s.open);
    // Resume first: the head may already hold the subscription's answer, and a stalled client
    // pauses again on it.
    socket.resume();
    if (head.length > 0) reader.push(head);
  });
};

type ConnectCommand = Extract<LoadCommand, { type: 'connect' }>;

/** Where client `i` connects: its edge when the run has several (scale-out), else the server. */
const clientUrl = ({ url, urls }: ConnectCommand, i: number): string => urls?.[i % urls.length] ?? url;

/** The C data plane holding this generator's clients, when the orchestrator built one. */
let native: NativeLoad | undefined;

/** Hands every client to the C data plane: the same messages, sampling and stalls as below. */
const connectNative = async (command: ConnectCommand, binary: string) => {
  const { protocol, first, count, workload } = command;
  native = NativeLoad.start(binary);
  const clients = Array.from({ length: count }, (_, k) => {
    const i = first + k;
    const symbols = clientSymbols(workload, i)?.map((s) => SYMBOLS[s]!);
    const { open, answer } = session(protocol, symbols, `bench-${process.pid}-${i}`);
    return {
      index: i,
      sampled: i % SAMPLE_EVERY === 0,
      stalled: isStalled(workload, i),
      url: clientUrl(command, i),
      protocol,
      open,
      answer,
    };
  });
  await native.connect(clients);
};

const connectAll = async (command: ConnectCommand) => {
  const { protocol, first, count, workload } = command;
  if (command.native) await connectNative(command, command.native);
  else {
    let next = first;
    const worker = async () => {
      while (next < first + count) {
        const i = next++;
        await connectClient(protocol, clientUrl(command, i), workload, i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, worker));
  }
  // What the orchestrator expects deliveries from: every client that reads, by symbol.
  const subscribers = new Array<number>(SYMBOL_COUNT).fill(0);
  for (let i = first; i < first + count; i++)
    if (!isStalled(workload, i))
      for (const s of clientSymbols(workload, i) ?? SYMBOLS.keys()) subscribers[s]!++;
  report({ type: 'subscribed', subscribers });
};

const failed = (err: unknown) => report({ type: 'failed', message: (err as Error).message });

/** The C data plane's figures, with this process's CPU added (it only relays meanwhile). */
const reportNative = async (plane: NativeLoad, stamps: StampTable) => {
  const own = process.cpuUsage(cpuAtStart);
  const r = await plane.report();
  const planeSamples = new StampSamples();
  for (let i = 0; i + 2 < r.samples.length; i += 3)
    planeSamples.record(r.samples[i]!, r.samples[i + 1]!, r.samples[i + 2]!);
  const latency = planeSamples.histogram(stamps, measureFrom);
  report({
    type: 'result',
    deliveries: r.deliveries,
    frames: r.frames,
    wireBytes: r.wireBytes,
    lastReceiptAt: r.lastReceiptAt,
    closedBy: r.closedBy,
    latencyCounts: latency.histogram.counts,
    latencyMatched: latency.matched,
    latencySamples: latency.total,
    cpuMs: r.cpuMs + (own.user + own.system) / 1000,
    systemMs: r.systemMs + own.system / 1000,
    wallMs: r.wallMs,
    pollingMs: r.pollingMs,
  });
};

process.on('message', (command: LoadCommand) => {
  switch (command.type) {
    case 'connect':
      connectAll(command).catch(failed);
      return;
    case 'start':
      measureFrom = command.measureFrom;
      deliveries = frames = wireBytes = 0;
      samples = new StampSamples();
      cpuAtStart = process.cpuUsage();
      wallAtStart = performance.now();
      if (native) void native.start().then(() => report({ type: 'started' }), failed);
      else report({ type: 'started' });
      return;
    case 'count':
      if (native) void native.count().then((n) => report({ type: 'count', deliveries: n }), failed);
      else report({ type: 'count', deliveries });
      return;
    case 'report': {
      if (native) return void reportNative(native, command.stamps).catch(failed);
      const cpu = process.cpuUsage(cpuAtStart);
      const latency = samples.histogram(command.stamps, measureFrom);
      return report({
        type: 'result',
        deliveries,
        frames,
        wireBytes,
        lastReceiptAt,
        closedBy,
        latencyCounts: latency.histogram.counts,
        latencyMatched: latency.matched,
        latencySamples: latency.total,
        cpuMs: (cpu.user + cpu.system) / 1000,
        systemMs: cpu.system / 1000,
        wallMs: performance.now() - wallAtStart,
      });
    }
  }
});
// Sockets die with the process: the orchestrator ends a run by disconnecting.
process.on('disconnect', () => process.exit(0));
