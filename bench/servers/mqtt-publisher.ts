/**
 * Peer: mosquitto with a WebSocket listener. This process is its feed: it publishes each
 * update (QoS 0) to `q/<symbol>` on the broker's MQTT port; clients subscribe over WebSocket
 * to `q/#` or to their symbols' topics. argv: mqtt port, websocket port.
 */
import { connectAsync } from 'mqtt';
import { QuoteGenerator } from '../feed.ts';
import { hostFeed } from './host.ts';
import { deltaStamper } from './messages.ts';

const [mqttPort, wsPort] = process.argv.slice(2).map(Number);
const client = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
const generator = new QuoteGenerator();
const stamp = deltaStamper(generator);
hostFeed(
  {
    port: wsPort!,
    publish: (burst, { iso: ts }) => {
      for (const q of burst) {
        const message = stamp(q, ts);
        client.publish(`q/${message.symbol}`, JSON.stringify(message), { qos: 0 });
      }
    },
  },
  generator,
);
