// Directed GeoChat between three node-tak clients: after each has reported its
// position (so the server knows the callsigns), ALPHA sends a node-cot DirectChat
// with <marti><dest callsign="BRAVO"/></marti>. BRAVO must get it; CHARLIE must not,
// nor must ALPHA get its own message back.
// INTEROP_CONFIG: {"tls": "127.0.0.1:port", "devices": {"a": {…}, "b": {…}, "c": {…}}}
import { DirectChat } from '@tak-ps/node-cot';
import { config, deadline, done, out, position, describe, takClient, typeOf } from './lib.js';

deadline(75000);
const names = { a: 'ALPHA', b: 'BRAVO', c: 'CHARLIE' };
const uid = (k) => `NODE-CHAT-${k.toUpperCase()}`;
const cl = {};
for (const k of Object.keys(names)) cl[k] = await takClient(`node-${k}`, config.tls, config.devices[k]);
for (const k of Object.keys(names)) cl[k].tak.write([position(uid(k), names[k], 4.9, 31.6)]);
// Everyone has seen everyone else: the server has learnt all three callsigns.
for (const k of Object.keys(names)) {
    for (const o of Object.keys(names)) {
        if (o !== k) await cl[k].inbox.next((c) => c.uid() === uid(o), 20000, `${names[o]}'s position`);
    }
}

const text = 'Meet at the gate & bring <water>';
const msg = new DirectChat({
    from: { uid: uid('a'), callsign: 'ALPHA' },
    to: { uid: uid('b'), callsign: 'BRAVO' },
    message: text
});
msg.addDest({ callsign: 'BRAVO' });
cl.a.tak.write([msg]);
out('sent', { uid: msg.uid(), text });

const got = await cl.b.inbox.next((c) => typeOf(c) === 'b-t-f', 20000, 'the direct message');
out('b_received', { cot: describe(got) });

const isChat = (c) => typeOf(c) === 'b-t-f';
const [atC, atA] = await Promise.all([cl.c.inbox.during(isChat, 1500), cl.a.inbox.during(isChat, 1500)]);
out('others', { c: atC.map((c) => c.uid()), a: atA.map((c) => c.uid()) });

for (const c of Object.values(cl)) c.close();
done();
