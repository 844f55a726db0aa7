// Shared helpers for the interop scripts. Each script takes its configuration as a
// JSON string in the environment variable INTEROP_CONFIG, prints one JSON object per line on stdout ({"step": …}),
// and exits non-zero with {"step":"error"} on failure. node-tak logs to stderr.
import fs from 'node:fs';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import TAK, { CoT } from '@tak-ps/node-tak';

export { TAK, CoT };

export const config = JSON.parse(process.env.INTEROP_CONFIG || '{}');

export function out(step, data = {}) {
    process.stdout.write(JSON.stringify({ step, ...data }) + '\n');
}

export function fail(msg) {
    out('error', { error: String(msg) });
    console.error(`FAIL: ${msg}`);
    process.exit(1);
}

process.on('unhandledRejection', (err) => fail(err && err.stack ? err.stack : err));
process.on('uncaughtException', (err) => fail(err && err.stack ? err.stack : err));

// deadline fails the script if it has not finished within ms.
export function deadline(ms) {
    setTimeout(() => fail(`did not finish within ${ms} ms`), ms);
}

export function done(data = {}) {
    out('done', data);
    process.exit(0);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// attrs returns <event> attributes for a new event valid for staleSec seconds.
export function attrs(type, how, uid = randomUUID(), staleSec = 120) {
    const now = new Date();
    return {
        version: '2.0', uid, type, how,
        time: now.toISOString(),
        start: now.toISOString(),
        stale: new Date(now.getTime() + staleSec * 1000).toISOString()
    };
}

// position builds an ATAK-style self report with node-cot: the six detail elements
// TAK protocol v1 types, plus elements that must pass through untouched.
export function position(uid, callsign, lat, lon) {
    return new CoT({
        event: {
            _attributes: attrs('a-f-G-U-C', 'm-g', uid),
            point: { _attributes: { lat: String(lat), lon: String(lon), hae: '420.5', ce: '9.5', le: '9999999.0' } },
            detail: {
                contact: { _attributes: { callsign, endpoint: '*:-1:stcp' } },
                __group: { _attributes: { name: 'Cyan', role: 'Team Member' } },
                takv: { _attributes: { device: 'interop', platform: 'node-cot', os: 'linux', version: '12.23.0' } },
                track: { _attributes: { course: '90.0', speed: '1.5' } },
                status: { _attributes: { battery: '77' } },
                usericon: { _attributes: { iconsetpath: 'COT_MAPPING_2525B/a-f/a-f-G' } },
                remarks: { _text: `${callsign} on patrol` }
            }
        }
    });
}

// describe turns a received CoT into plain JSON for the Go test: the event
// attributes, the point as numbers and the detail in xml-js compact form (without
// flow tags, which every hop adds to).
export function describe(cot) {
    const e = cot.raw.event;
    const a = e._attributes || {};
    const p = (e.point && e.point._attributes) || {};
    const detail = {};
    for (const [k, v] of Object.entries(e.detail || {})) {
        if (k !== '_flow-tags_') detail[k] = v;
    }
    return {
        uid: a.uid, type: a.type, how: a.how, time: a.time, start: a.start, stale: a.stale,
        callsign: cot.callsign(),
        lat: Number(p.lat), lon: Number(p.lon), hae: Number(p.hae), ce: Number(p.ce), le: Number(p.le),
        detail
    };
}

export const typeOf = (cot) => cot.raw.event._attributes.type;

// Inbox collects received events; next() takes the first one that matches.
export class Inbox {
    constructor(name) {
        this.name = name;
        this.items = [];
        this.waiters = [];
    }

    push(cot) {
        for (const w of this.waiters) {
            if (w.pred(cot)) {
                this.waiters = this.waiters.filter((x) => x !== w);
                w.resolve(cot);
                return;
            }
        }
        this.items.push(cot);
    }

    next(pred, ms, what) {
        const i = this.items.findIndex(pred);
        if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
        return new Promise((resolve) => {
            const w = { pred, resolve: (c) => { clearTimeout(w.timer); resolve(c); } };
            w.timer = setTimeout(() => {
                const seen = this.items.map((c) => `${typeOf(c)} ${c.uid()}`).join(', ');
                fail(`${this.name}: no ${what} within ${ms} ms (unmatched: ${seen || 'none'})`);
            }, ms);
            this.waiters.push(w);
        });
    }

    // during returns what matching arrived (and was not taken) within ms.
    async during(pred, ms) {
        await sleep(ms);
        return this.items.filter(pred);
    }
}

// takClient connects a node-tak client over TLS with a device certificate and
// resolves once the server has answered its first ping (node-tak pings on connect).
export async function takClient(name, addr, dev) {
    const inbox = new Inbox(name);
    const tak = await TAK.connect(name, new URL(`ssl://${addr}`), {
        cert: fs.readFileSync(dev.cert, 'utf8'),
        key: fs.readFileSync(dev.key, 'utf8')
    });
    const client = { name, tak, inbox, pongs: 0, closing: false };
    tak.on('cot', (cot) => inbox.push(cot));
    tak.on('error', (err) => { if (!client.closing) fail(`${name}: ${err.message}`); });
    tak.on('end', () => { if (!client.closing) fail(`${name}: the server closed the connection`); });
    await new Promise((resolve) => {
        const timer = setTimeout(() => fail(`${name}: no pong within 20 s of connecting`), 20000);
        tak.on('ping', () => {
            client.pongs++;
            clearTimeout(timer);
            resolve();
        });
    });
    client.close = () => { client.closing = true; tak.destroy(); };
    return client;
}

// PlainClient is a streaming TCP device built on node:net: XML until it negotiates
// TAK protocol v1, then 0xbf-framed TakMessages both ways. It is strict about the
// framing: any byte other than 0xbf where a frame should start is a failure.
export class PlainClient {
    constructor(name) {
        this.name = name;
        this.inbox = new Inbox(name);
        this.buf = Buffer.alloc(0);
        this.v1 = false;
        this.wantV1 = false;
        this.closing = false;
    }

    connect(addr) {
        const [host, port] = splitAddr(addr);
        return new Promise((resolve) => {
            this.sock = net.connect({ host, port }, resolve);
            this.sock.setNoDelay();
            this.sock.on('data', (d) => this.onData(d));
            this.sock.on('error', (err) => { if (!this.closing) fail(`${this.name}: ${err.message}`); });
            this.sock.on('end', () => { if (!this.closing) fail(`${this.name}: the server closed the connection`); });
        });
    }

    onData(d) {
        this.buf = Buffer.concat([this.buf, d]);
        for (;;) {
            if (!this.v1) {
                const end = this.buf.indexOf('</event>');
                if (end < 0) return;
                const text = this.buf.subarray(0, end + '</event>'.length).toString('utf8');
                this.buf = this.buf.subarray(end + '</event>'.length);
                const found = TAK.findCoT(text);
                if (!found) fail(`${this.name}: no <event> in ${JSON.stringify(text)}`);
                const cot = new CoT(found.event);
                if (this.wantV1 && typeOf(cot) === 't-x-takp-r' && takResponse(cot) === 'true') {
                    this.v1 = true; // everything after the answer is v1 frames
                }
                this.inbox.push(cot);
            } else {
                if (this.buf.length === 0) return;
                if (this.buf[0] !== 0xbf) {
                    fail(`${this.name}: byte 0x${this.buf[0].toString(16)} where a v1 frame should start`);
                }
                const len = readVarint(this.buf, 1);
                if (!len) return; // incomplete length
                const [n, used] = len;
                if (this.buf.length < 1 + used + n) return;
                const payload = this.buf.subarray(1 + used, 1 + used + n);
                this.buf = this.buf.subarray(1 + used + n);
                this.frames = (this.frames || 0) + 1;
                this.inbox.push(CoT.from_proto(payload));
            }
        }
    }

    // send writes cot in the negotiated format: XML, or a v1 stream frame around
    // node-cot's to_proto(1), which is a bare TakMessage without the 0xbf header.
    send(cot) {
        if (this.v1) this.sock.write(frame(cot.to_proto(1)));
        else this.sock.write(cot.to_xml());
    }

    // negotiate reads the server's t-x-takp-v offer, asks for version 1 and waits
    // for the answer; it returns what was offered and answered.
    async negotiate() {
        const offer = await this.inbox.next((c) => typeOf(c) === 't-x-takp-v', 20000, 'the t-x-takp-v offer');
        const tc = offer.raw.event.detail && offer.raw.event.detail.TakControl;
        const versions = [].concat((tc && tc.TakProtocolSupport) || []).map((s) => s._attributes.version);
        if (!versions.includes('1')) fail(`${this.name}: offer without version 1: ${offer.to_xml()}`);
        const req = new CoT({
            event: {
                _attributes: attrs('t-x-takp-q', 'm-g', `${this.name}-takp`, 60),
                point: { _attributes: { lat: '0.0', lon: '0.0', hae: '0.0', ce: '999999', le: '999999' } },
                detail: { TakControl: { TakRequest: { _attributes: { version: '1' } } } }
            }
        });
        this.wantV1 = true;
        this.send(req);
        const ans = await this.inbox.next((c) => typeOf(c) === 't-x-takp-r', 20000, 'the t-x-takp-r answer');
        return { offered: versions, status: takResponse(ans), v1: this.v1 };
    }

    close() {
        this.closing = true;
        this.sock.destroy();
    }
}

function takResponse(cot) {
    const tc = cot.raw.event.detail && cot.raw.event.detail.TakControl;
    return tc && tc.TakResponse && tc.TakResponse._attributes ? tc.TakResponse._attributes.status : undefined;
}

export function splitAddr(addr) {
    const i = addr.lastIndexOf(':');
    return [addr.slice(0, i), Number(addr.slice(i + 1))];
}

// frame returns a TAK protocol v1 stream frame: 0xbf, varint length, payload.
export function frame(payload) {
    const len = [];
    let n = payload.length;
    while (n >= 0x80) {
        len.push((n & 0x7f) | 0x80);
        n >>>= 7;
    }
    len.push(n);
    return Buffer.concat([Buffer.from([0xbf, ...len]), Buffer.from(payload)]);
}

function readVarint(buf, off) {
    let n = 0;
    for (let i = 0; i < 5; i++) {
        if (off + i >= buf.length) return null;
        const b = buf[off + i];
        n += (b & 0x7f) * 2 ** (7 * i);
        if (b < 0x80) return [n, i + 1];
    }
    fail('v1 frame length longer than 5 bytes');
}
