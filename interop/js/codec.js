// Codec interop without a server.
//   node codec.js emit    prints, for events built with node-cot, to_xml() and the
//                         base64 of to_proto(1) with node-cot's own view of them.
//   node codec.js decode  reads [{"name", "xml", "proto"}] (proto: base64 TakMessage)
//                         on stdin and prints what node-cot decodes from each.
import fs from 'node:fs';
import CoT, { DirectChat } from '@tak-ps/node-cot';
import { done, fail, out, describe, position } from './lib.js';

const mode = process.argv[2];
if (mode === 'emit') {
    const chat = new DirectChat({
        from: { uid: 'ANDROID-alpha', callsign: 'ALPHA' },
        to: { uid: 'ANDROID-bravo', callsign: 'BRAVO' },
        message: 'Road block at <km 12> & heavy rain'
    }).addDest({ callsign: 'BRAVO' });
    const shape = CoT.from_geojson({
        type: 'Feature',
        id: 'zone-north',
        properties: {
            type: 'u-d-f', how: 'h-e', callsign: 'North zone',
            stroke: '#ff0000', 'stroke-opacity': 1, 'stroke-width': 3, fill: '#00ff00', 'fill-opacity': 0.5
        },
        geometry: { type: 'Polygon', coordinates: [[[31.5, 4.8], [31.6, 4.8], [31.6, 4.9], [31.5, 4.8]]] }
    });
    const geo = CoT.from_geojson({
        type: 'Feature',
        id: 'marker-1',
        properties: { type: 'a-h-G', how: 'h-g-i-g-o', callsign: 'Hostile 1', course: 45, speed: 2, remarks: 'technical' },
        geometry: { type: 'Point', coordinates: [31.55, 4.82, 412] }
    });
    const samples = { position: position('ANDROID-node', 'NODE', 4.85, 31.58), chat, shape, geojson_point: geo };
    for (const [name, cot] of Object.entries(samples)) {
        const proto = Buffer.from(cot.to_proto(1));
        out('sample', {
            name,
            xml: cot.to_xml(),
            proto: proto.toString('base64'),
            node: { uid: cot.uid(), callsign: cot.callsign(), position: cot.position() }
        });
    }
    done();
} else if (mode === 'decode') {
    const input = JSON.parse(fs.readFileSync(0, 'utf8'));
    for (const s of input) {
        out('decoded', { name: s.name, from: 'xml', cot: describe(new CoT(s.xml)) });
        out('decoded', { name: s.name, from: 'proto', cot: describe(CoT.from_proto(Buffer.from(s.proto, 'base64'))) });
    }
    done();
} else {
    fail(`usage: node codec.js emit|decode (got ${mode})`);
}
