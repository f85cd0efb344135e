/** The widget bundle (`/widget.js`): defines `<tick-tape>`, whose default server is where this script came from. */
import { wsUrlOf } from '../server-url.ts';
import { TickTape } from './tick-tape.ts';

try {
  // An embed on another site should stream from the server that served the script, not the host page.
  TickTape.defaultUrl = wsUrlOf((document.currentScript as HTMLScriptElement | null)?.src || location.href);
} catch {
  TickTape.defaultUrl = '';
}
if (!customElements.get('tick-tape')) customElements.define('tick-tape', TickTape);
