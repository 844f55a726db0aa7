// Two node-tak clients on TLS with device certificates from the mission CA exchange
// position reports through the server, one in each direction.
// INTEROP_CONFIG: {"tls": "127.0.0.1:port", "devices": {"a": {"cert", "key"}, "b": {…}}}
import { config, deadline, done, out, position, describe, takClient } from './lib.js';

deadline(60000);
const a = await takClient('node-a', config.tls, config.devices.a);
const b = await takClient('node-b', config.tls, config.devices.b);
out('connected', { server_version: a.tak.version || null });

a.tak.write([position('NODE-TLS-A', 'ALPHA', 4.85, 31.58)]);
const atB = await b.inbox.next((c) => c.uid() === 'NODE-TLS-A', 20000, "A's position");
out('b_received', { cot: describe(atB) });

b.tak.write([position('NODE-TLS-B', 'BRAVO', 4.86, 31.59)]);
const atA = await a.inbox.next((c) => c.uid() === 'NODE-TLS-B', 20000, "B's position");
out('a_received', { cot: describe(atA) });

a.close();
b.close();
done();
