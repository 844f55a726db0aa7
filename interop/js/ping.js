// Liveness: node-tak pings on connect and then every 5 s and counts the server's
// t-x-c-t-r answers; on plain TCP, CoT.ping() gets a pong in XML and, after v1 is
// negotiated, in a v1 frame; a bystander sees neither pings nor pongs.
// INTEROP_CONFIG: {"tls": "127.0.0.1:port", "tcp": "127.0.0.1:port", "devices": {"a": {…}}}
import { CoT, config, deadline, done, out, describe, takClient, typeOf, PlainClient } from './lib.js';

deadline(75000);
const isPingPong = (c) => typeOf(c) === 't-x-c-t' || typeOf(c) === 't-x-c-t-r';

const bystander = new PlainClient('node-bystander');
await bystander.connect(config.tcp);

const xml = new PlainClient('node-xml');
await xml.connect(config.tcp);
await xml.inbox.next((c) => typeOf(c) === 't-x-takp-v', 20000, 'the t-x-takp-v offer');
const ping = CoT.ping();
xml.send(ping);
const pong = await xml.inbox.next((c) => typeOf(c) === 't-x-c-t-r', 20000, 'a pong (t-x-c-t-r) in XML');
out('xml_pong', { ping_uid: ping.uid(), cot: describe(pong) });

const v1 = new PlainClient('node-v1');
await v1.connect(config.tcp);
await v1.negotiate();
v1.send(CoT.ping());
const pong1 = await v1.inbox.next((c) => typeOf(c) === 't-x-c-t-r', 20000, 'a pong (t-x-c-t-r) in a v1 frame');
out('v1_pong', { cot: describe(pong1), frames: v1.frames || 0 });

// node-tak: the pong to its ping on connect, then the one to its 5-second ping.
const tak = await takClient('node-tak', config.tls, config.devices.a);
const start = Date.now();
while (tak.pongs < 2 && Date.now() - start < 20000) await new Promise((r) => setTimeout(r, 100));
out('tak_pongs', { pongs: tak.pongs, open: tak.tak.open, waited_ms: Date.now() - start });

const seen = [...bystander.inbox.items, ...xml.inbox.items, ...v1.inbox.items].filter(isPingPong);
out('stray', { count: seen.length, events: seen.map((c) => `${typeOf(c)} ${c.uid()}`) });

tak.close();
for (const c of [bystander, xml, v1]) c.close();
done();
