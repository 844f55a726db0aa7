// Plain TCP: client P negotiates TAK protocol v1 (t-x-takp-v offer, t-x-takp-q
// request, t-x-takp-r answer) and sends and reads 0xbf-framed TakMessages made by
// node-cot; client X stays on XML. Each must read what the other sent.
// INTEROP_CONFIG: {"tcp": "127.0.0.1:port"}
import { config, deadline, done, out, position, describe, PlainClient } from './lib.js';

deadline(60000);
const p = new PlainClient('node-v1');
await p.connect(config.tcp);
out('negotiated', await p.negotiate());

const x = new PlainClient('node-xml');
await x.connect(config.tcp);
await x.inbox.next((c) => c.raw.event._attributes.type === 't-x-takp-v', 20000, 'the t-x-takp-v offer');

p.send(position('NODE-V1-P', 'PROTO', 4.87, 31.6));
const atX = await x.inbox.next((c) => c.uid() === 'NODE-V1-P', 20000, "P's v1 position, as XML");
out('xml_received', { cot: describe(atX) });

x.send(position('NODE-XML-X', 'XMLER', 4.88, 31.61));
const atP = await p.inbox.next((c) => c.uid() === 'NODE-XML-X', 20000, "X's XML position, as a v1 frame");
out('v1_received', { cot: describe(atP), frames: p.frames || 0 });

p.close();
x.close();
done();
