// CASEVAC interop: node-cot builds a b-r-f-h-c event with the <_medevac_> detail
// a TAK client's MEDLINE tool sends, and prints its to_xml() and to_proto(1) for
// bluehelm to map to a 9-line request. (node-cot 12.23.0 writes a "&" in an
// attribute value unescaped, which is not XML: the sample avoids one.)
import CoT from '@tak-ps/node-cot';
import { done, out, attrs } from './lib.js';

const cot = new CoT({
    event: {
        _attributes: attrs('b-r-f-h-c', 'h-g-i-g-o', 'node-casevac-1', 3600),
        point: { _attributes: { lat: '4.52', lon: '31.56', hae: '450', ce: '9999999.0', le: '9999999.0' } },
        detail: {
            contact: { _attributes: { callsign: 'MED.NODE.1' } },
            link: { _attributes: { uid: 'ANDROID-node', type: 'a-f-G-U-C', parent_callsign: 'NODE', relation: 'p-p' } },
            _medevac_: {
                _attributes: {
                    title: 'MED.NODE.1', casevac: 'false', freq: '38.90',
                    urgent: '2', urgent_surgical: '0', priority: '1', routine: '0', convenience: '0',
                    equipment_none: 'false', hoist: 'false', extraction_equipment: 'true', ventilator: 'false',
                    litter: '2', ambulatory: '1', security: '0', hlz_marking: '0',
                    us_military: '1', us_civilian: '0', nonus_military: '0', nonus_civilian: '0', epw: '1', child: '0',
                    terrain_none: 'true', obstacles: 'None', zone_prot_selection: '0', medline_remarks: 'approach from the east'
                },
                zMistsMap: { zMist: { _attributes: { z: '1', m: 'GSW', i: 'arm', s: 'conscious', t: 'dressing', title: 'ZMIST1' } } }
            }
        }
    }
});
out('sample', { xml: cot.to_xml(), proto: Buffer.from(cot.to_proto(1)).toString('base64') });
done();
