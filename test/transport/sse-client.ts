import type { ServerMessage } from '../../src/protocol/messages.ts';
import { assertServerMessage } from '../protocol-schema.ts';

/** A Server-Sent Events reader over fetch: collects events with their ids until aborted. */
export class SseClient {
  readonly events: { id?: string; message: ServerMessage }[] = [];
  private readonly abort = new AbortController();
  status = 0;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(url, { headers, signal: client.abort.signal });
    client.status = res.status;
    if (res.ok && res.body) void client.read(res.body);
    else client.error = await res.json();
    return client;
  }

  error: unknown;

  private async read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map(
            block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
          );
          const data = fields.get('data');
          if (data !== undefined && !fields.has('event')) {
            const message = JSON.parse(data) as ServerMessage;
            // Thrown outside this reader's catch, so a message off the schema fails the run.
            queueMicrotask(() => assertServerMessage(message));
            this.events.push({ ...(fields.has('id') && { id: fields.get('id') }), message });
          }
        }
      }
    } catch {
      // Aborted by close().
    }
  }

  ofType<T extends ServerMessage['type']>(type: T) {
    return this.events
      .map((e) => e.message)
      .filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  close(): void {
    this.abort.abort();
  }
}
