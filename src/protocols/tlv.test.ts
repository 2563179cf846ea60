import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { amountToBcd, bcdToAmount, bcdToDigits, digitsToBcd, fromHex, isHex, toHex } from './hex.ts';
import {
  TLV_DEPTH_MAX,
  TlvError,
  decodeTlv,
  encodeTlv,
  findTlv,
  findTlvValue,
  flattenTlv,
  isConstructedTag,
  tlv,
} from './tlv.ts';
import type { TlvErrorCode, TlvNode } from './tlv.ts';

// SELECT PPSE answer of a UnionPay debit card (FCI without SW 9000), captured from a POS log.
const UNIONPAY_PPSE_FCI = fromHex(
  '6F30840E325041592E5359532E4444463031A51EBF0C1B61194F08A000000333010101500A50424F43204445424954870101',
);
// SELECT PPSE answer of a Mastercard debit card, with the 9F0A application selection registered
// proprietary data inside the directory entry.
const MASTERCARD_PPSE_FCI = fromHex(
  '6F3C840E325041592E5359532E4444463031A52ABF0C2761254F07A000000004101050104465626974204D6173746572436172648701019F0A0400010101',
);
// GPO answer (format 2, template 77 with a two-byte 81 CE length) of a Visa qVSDC test card:
// AIP, AFL, track 2, IAD, cryptogram, CID, ATC, CTQ and a 128-byte SDAD (9F4B 81 80).
const VISA_GPO_RESPONSE = fromHex(
  '7781CE82022000940C08010100180101011002030057134761739001010010D20122015123499999991F9F1007060111039000009F2608E13DB3D65B106EAB9F2701409F360200029F6C0200009F4B818071A88E5BCB44015E3F9D1F5024332FB2E639F7880732E8BB849ABCFC184DA262F0039299BE9B1790970ED0DD7083698BFB22D337850404E629F76736346350D867C7EF1A6B52C698D9BA778EA80E29F5A40A1A5DC2458456FA973E7F52D1F2510A339D8BE1E3961B30824B5B9E975834241C2FF4CBDDE94B5F0FA1FCC22DEFA0',
);

function assertTlvError(action: () => unknown, code: TlvErrorCode): void {
  assert.throws(action, (error: unknown) => error instanceof TlvError && error.code === code);
}

describe('hex helpers', () => {
  it('converts hex with spaces and back in uppercase', () => {
    assert.deepEqual(fromHex('9f 02 06'), Buffer.from([0x9f, 0x02, 0x06]));
    assert.equal(toHex(Buffer.from([0x9f, 0x0a])), '9F0A');
    assert.equal(isHex('9F0'), false);
    assert.throws(() => fromHex('zz'));
  });

  it('packs EMV numeric (n) values as right-justified BCD', () => {
    assert.equal(toHex(digitsToBcd('156', 2)), '0156');
    assert.equal(toHex(amountToBcd(123456n)), '000000123456');
    assert.equal(bcdToAmount(fromHex('000000001000')), 1000n);
    assert.equal(bcdToDigits(fromHex('1A')), undefined);
  });
});

describe('BER-TLV decoding of real card answers', () => {
  it('reads the UnionPay PPSE FCI down to the directory entry', () => {
    const nodes = decodeTlv(UNIONPAY_PPSE_FCI);
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0]!.tag, '6F');
    assert.equal(findTlvValue(nodes, '84')!.toString('ascii'), '2PAY.SYS.DDF01');
    assert.equal(toHex(findTlvValue(nodes, '4F')!), 'A000000333010101');
    assert.equal(findTlvValue(nodes, '50')!.toString('ascii'), 'PBOC DEBIT');
    assert.equal(toHex(findTlvValue(nodes, '87')!), '01');
    const entry = findTlv(nodes, '61')!;
    assert.deepEqual(
      entry.children!.map((child) => child.tag),
      ['4F', '50', '87'],
    );
    assert.deepEqual(encodeTlv(nodes), UNIONPAY_PPSE_FCI);
  });

  it('reads two-byte tags (BF0C, 9F0A) in the Mastercard PPSE FCI', () => {
    const nodes = decodeTlv(MASTERCARD_PPSE_FCI);
    assert.ok(findTlv(nodes, 'BF0C')?.children);
    assert.equal(toHex(findTlvValue(nodes, '9F0A')!), '00010101');
    assert.equal(findTlvValue(nodes, '50')!.toString('ascii'), 'Debit MasterCard');
    assert.deepEqual(encodeTlv(nodes), MASTERCARD_PPSE_FCI);
  });

  it('reads a GPO response template 77 with an 81 length and a 128-byte 9F4B', () => {
    const nodes = decodeTlv(VISA_GPO_RESPONSE);
    assert.equal(nodes[0]!.value.length, 0xce);
    const values = flattenTlv(nodes);
    assert.equal(toHex(values.get('82')!), '2000');
    assert.equal(toHex(values.get('94')!), '080101001801010110020300');
    assert.equal(toHex(values.get('9F36')!), '0002');
    assert.equal(toHex(values.get('9F26')!), 'E13DB3D65B106EAB');
    assert.equal(toHex(values.get('9F10')!), '06011103900000');
    assert.equal(toHex(values.get('9F27')!), '40');
    assert.equal(values.get('9F4B')!.length, 128);
    assert.deepEqual(encodeTlv(nodes), VISA_GPO_RESPONSE);
  });
});

describe('BER-TLV building and encoding', () => {
  it('builds a GPO response template 77 that decodes to itself', () => {
    const response = tlv('77', [
      tlv('82', fromHex('1980')),
      tlv('94', fromHex('08010100')),
      tlv('9F36', fromHex('0001')),
      tlv('9F26', fromHex('1122334455667788')),
      tlv('9F10', fromHex('07010103A00000010A0100000000004F4DB8A2')),
    ]);
    const bytes = encodeTlv(response);
    assert.equal(toHex(bytes.subarray(0, 6)), '773082021980');
    assert.deepEqual(decodeTlv(bytes), [response]);
    assert.equal(toHex(findTlvValue([response], '9f36')!), '0001');
  });

  it('chooses the shortest length form: 7F, 81 80, 82 01 2C, 83 01 11 70', () => {
    assert.equal(toHex(encodeTlv(tlv('5A', Buffer.alloc(0x7f))).subarray(0, 2)), '5A7F');
    assert.equal(toHex(encodeTlv(tlv('5A', Buffer.alloc(0x80))).subarray(0, 3)), '5A8180');
    assert.equal(toHex(encodeTlv(tlv('9F4B', Buffer.alloc(300))).subarray(0, 5)), '9F4B82012C');
    const huge = encodeTlv(tlv('DF8101', Buffer.alloc(70_000, 0xab)));
    assert.equal(toHex(huge.subarray(0, 7)), 'DF810183011170');
    const [decoded] = decodeTlv(huge, { sizeMax: 80_000 });
    assert.equal(decoded!.value.length, 70_000);
  });

  it('skips 00 and FF padding before, between and after objects', () => {
    const nodes = decodeTlv(fromHex('0000 9F0206000000001000 FF FF 5F2A020156 00'));
    assert.deepEqual(
      nodes.map((node) => [node.tag, toHex(node.value)]),
      [
        ['9F02', '000000001000'],
        ['5F2A', '0156'],
      ],
    );
    assert.equal(decodeTlv(fromHex('70 07 00 5A 02 1234 FF 00 00')).at(0)!.children!.length, 1);
  });

  it('finds the first occurrence depth first and flattens primitives', () => {
    const tree = [tlv('70', [tlv('A5', [tlv('50', Buffer.from('A'))]), tlv('50', Buffer.from('B'))])];
    assert.equal(findTlvValue(tree, '50')!.toString(), 'A');
    assert.equal(findTlv(tree, '9F02'), undefined);
    assert.deepEqual([...flattenTlv(tree).keys()], ['50']);
  });

  it('refuses malformed tags and children on primitive tags when encoding', () => {
    for (const tag of ['', '9F', '1F', '5A01', '00', 'FF', '9F8181', 'ZZ', '9F81818101']) {
      assertTlvError(() => encodeTlv({ tag, value: Buffer.alloc(0) }), 'bad_tag');
    }
    assertTlvError(() => tlv('5A', [tlv('50', Buffer.alloc(1))]), 'bad_tag');
    assert.equal(isConstructedTag('BF0C'), true);
    assert.equal(isConstructedTag('9F02'), false);
  });

  it('refuses to encode a tree the decoder would refuse as too deep', () => {
    let node: TlvNode = tlv('5A', Buffer.alloc(1));
    for (let level = 0; level < TLV_DEPTH_MAX; level += 1) node = { tag: 'E1', value: Buffer.alloc(0), children: [node] };
    assertTlvError(() => encodeTlv(node), 'too_deep');
  });
});

describe('BER-TLV decoding refuses bad input with a typed error', () => {
  const cases: [string, string, TlvErrorCode][] = [
    ['value longer than the buffer', '9F020600000000', 'length_exceeds_buffer'],
    ['constructed value longer than the buffer', '6F0584030102', 'length_exceeds_buffer'],
    ['child longer than its parent', '7003 5A0512 3456', 'length_exceeds_buffer'],
    ['multi-byte tag cut short', '9F', 'truncated_tag'],
    ['tag of 4 bytes', '9F81818101 00', 'tag_too_long'],
    ['length missing', '5A', 'truncated_length'],
    ['long length cut short', '5A82 01', 'truncated_length'],
    ['indefinite length', '5A80 0000', 'indefinite_length'],
    ['4-byte length field', '5A84 00000001 00', 'length_field_too_long'],
    ['81 for a short length', '5A8105 0102030405', 'non_minimal_length'],
    ['82 for a one-byte length', '5A8200FF', 'non_minimal_length'],
  ];
  for (const [label, hex, code] of cases) {
    it(label, () => assertTlvError(() => decodeTlv(fromHex(hex)), code));
  }

  it('nesting deeper than depthMax', () => {
    let bytes = fromHex('5A0101');
    for (let level = 0; level < TLV_DEPTH_MAX; level += 1) bytes = encodeTlv({ tag: 'E1', value: bytes });
    assertTlvError(() => decodeTlv(bytes), 'too_deep');
    assert.equal(decodeTlv(bytes, { depthMax: TLV_DEPTH_MAX + 1 }).length, 1);
  });

  it('input over sizeMax', () => {
    assertTlvError(() => decodeTlv(Buffer.alloc(70_000)), 'too_large');
    assertTlvError(() => decodeTlv(fromHex('5A020102'), { sizeMax: 3 }), 'too_large');
  });
});

// Tags of every class, primitive or constructed, one to three bytes.
const tagArb = (constructed: boolean): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 30 }),
      fc.array(fc.integer({ min: 0, max: 0x7f }), { maxLength: 1 }),
      fc.integer({ min: 0, max: 0x7f }),
      fc.boolean(),
    )
    .map(([klass, number, middle, last, long]) => {
      const first = (klass << 6) | (constructed ? 0x20 : 0) | (long ? 0x1f : number);
      const bytes = long ? [first, ...middle.map((byte) => byte | 0x80), last] : [first];
      return toHex(Buffer.from(bytes));
    })
    .filter((tag) => !tag.startsWith('00') && !tag.startsWith('FF'));

const nodeArb = (depth: number): fc.Arbitrary<TlvNode> => {
  const primitive = fc
    .tuple(tagArb(false), fc.uint8Array({ maxLength: 300 }))
    .map(([tag, value]) => tlv(tag, Buffer.from(value)));
  if (depth <= 1) return primitive;
  const constructed = fc
    .tuple(tagArb(true), fc.array(nodeArb(depth - 1), { maxLength: 3 }))
    .map(([tag, children]) => tlv(tag, children));
  return fc.oneof(primitive, constructed);
};

describe('BER-TLV properties', () => {
  it('decode(encode(tree)) = tree', () => {
    fc.assert(
      fc.property(fc.array(nodeArb(4), { maxLength: 4 }), (nodes) => {
        assert.deepStrictEqual(decodeTlv(encodeTlv(nodes)), nodes);
      }),
    );
  });

  it('random bytes only ever raise TlvError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          decodeTlv(Buffer.from(bytes));
        } catch (error) {
          assert.ok(error instanceof TlvError, String(error));
        }
      }),
    );
  });

  it('corrupted encodings only ever raise TlvError, never truncate silently', () => {
    fc.assert(
      fc.property(
        fc.array(nodeArb(3), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(),
        (nodes, position, byte, cut) => {
          const bytes = encodeTlv(nodes);
          const corrupted = Buffer.from(bytes);
          corrupted[position % corrupted.length] = byte;
          const truncated = bytes.subarray(0, cut % bytes.length);
          for (const input of [corrupted, truncated]) {
            try {
              const decoded = decodeTlv(input);
              // Whatever decodes must re-encode within the input's size: nothing invented.
              assert.ok(encodeTlv(decoded).length <= input.length);
            } catch (error) {
              assert.ok(error instanceof TlvError, String(error));
            }
          }
        },
      ),
    );
  });
});
