/**
 * The widget: defines `<tick-tape>` (the `/widget.js` bundle, and `@tickstream/client/widget`).
 * Its default server is where this script came from (the page's own origin for a module import).
 */
import { wsUrlOf } from '../server-url.ts';
import { TickTape } from './tick-tape.ts';

export { TickTape };
export type { TickTapeEventMap, TickTapeQuoteDetail, TickTapeStateDetail } from './events.ts';

try {
  // An embed on another site should stream from the server that served the script, not the host page.
  TickTape.defaultUrl = wsUrlOf((document.currentScript as HTMLScriptElement | null)?.src || location.href);
} catch {
  TickTape.defaultUrl = '';
}
if (!customElements.get('tick-tape')) customElements.define('tick-tape', TickTape);
