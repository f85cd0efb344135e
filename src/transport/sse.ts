import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hub } from '../hub/hub.ts';
import { CHANNELS, type ClientRequest } from '../protocol/messages.ts';
import type { Connection } from './connection.ts';
import { csv } from './query-lists.ts';
import { validateRequest } from './requests.ts';
import { SseSink, type Sink } from './sink.ts';

/** Why a stream request was refused, as an HTTP status and a message that says what to fix. */
export interface StreamRefusal {
  status: number;
  message: string;
}

/** The channels a stream without `channels=` carries. */
const DEFAULT_CHANNELS = ['quotes', 'headlines'];

/** Reads `epoch:seq` (an SSE event id) into a resume position. */
const position = (id: string | undefined | null) => {
  const m = id ? /^(.+):(\d+)$/.exec(id.trim()) : null;
  return m ? { epoch: m[1]!, seq: Number(m[2]) } : undefined;
};

/**
 * The subscribe requests an SSE query asks for: `channels=quotes,headlines,candles` (default
 * quotes and headlines), `symbols=A,OGDC*`, `maxRate=N`, `interval=5m` (candles), and resume from `Last-Event-ID` or `?since=epoch:seq`.
 */
export const streamRequests = (
  url: URL,
  lastEventId: string | undefined,
): ClientRequest[] | StreamRefusal => {
  const q = url.searchParams;
  // Each channel named is one subscribe (and one resume): a repeated name asks for nothing more.
  const channels = [...new Set(csv(q.get('channels')) ?? DEFAULT_CHANNELS)];
  if (channels.length > CHANNELS.length)
    return { status: 400, message: `channels takes at most ${CHANNELS.length}: ${CHANNELS.join(', ')}` };
  const since = position(lastEventId ?? q.get('since'));
  // A browser's Last-Event-ID is an id we sent; a `since` someone typed may be anything.
  if (lastEventId === undefined && q.has('since') && since === undefined)
    return {
      status: 400,
      message: `since must be EPOCH:SEQ, as an event's id gives it, got ${JSON.stringify(q.get('since'))}`,
    };
  // Empty (a form's empty field) is every symbol, as no list is: one reading on every route.
  const symbols = csv(q.get('symbols'));
  const rate = q.get('maxRate');
  const requests: ClientRequest[] = [];
  for (const channel of channels) {
    const result = validateRequest({
      op: 'subscribe',
      channel,
      ...(channel !== 'headlines' && symbols?.length && { symbols }),
      ...(channel !== 'headlines' && rate !== null && { maxRate: Number(rate) }),
      ...(channel === 'candles' && q.has('interval') && { interval: q.get('interval') }),
      ...(since && { since }),
    });
    if (!result.ok) return { status: 400, message: result.error.message };
    requests.push(result.request);
  }
  return requests;
};

/**
 * Serves `GET /api/stream`: the same messages as the WebSocket, one SSE event each, with
 * `id: epoch:seq` on hub events so a reconnecting EventSource resumes through Last-Event-ID.
 */
export const openEventStream = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  hub: Hub,
  add: (sink: Sink) => Connection,
): StreamRefusal | undefined => {
  const lastEventId = req.headers['last-event-id'];
  const requests = streamRequests(url, Array.isArray(lastEventId) ? lastEventId[0] : lastEventId);
  if (!Array.isArray(requests)) return requests;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Proxies that buffer responses would hold events back.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  const conn = add(new SseSink(res, () => hub.epoch));
  res.once('close', () => conn.release());
  // Let in as a whole: the address's budget was checked once for the stream.
  for (const request of requests) conn.handle(request, true);
  return undefined;
};
