import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ApduError,
  CREDIT_FOR_LOAD_RESPONSE,
  DEBIT_FOR_PURCHASE_DATA,
  DEBIT_FOR_PURCHASE_RESPONSE,
  GET_BALANCE_RESPONSE,
  INITIALIZE_FOR_LOAD_RESPONSE,
  INITIALIZE_FOR_PURCHASE_RESPONSE,
  SW,
  creditForLoad,
  debitForPurchase,
  decodeCommandApdu,
  decodeResponseApdu,
  describeStatusWord,
  encodeCommandApdu,
  encodeResponseApdu,
  generateAc,
  getBalance,
  getData,
  getProcessingOptions,
  initializeForLoad,
  initializeForPurchase,
  isValidStatusWord,
  readRecord,
  retriesLeft,
  selectByName,
  selectPpse,
} from './apdu.ts';
import type { ApduErrorCode, CommandApdu, ResponseApdu } from './apdu.ts';
import { fromHex, toHex } from './hex.ts';

const hexOf = (command: CommandApdu): string => toHex(encodeCommandApdu(command));

function assertApduError(action: () => unknown, code: ApduErrorCode): void {
  assert.throws(action, (error: unknown) => error instanceof ApduError && error.code === code);
}

describe('command APDU encoding and decoding (ISO 7816-4, 5.2)', () => {
  it('encodes and decodes the four cases', () => {
    const cases: [string, CommandApdu][] = [
      ['00A40400', { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: Buffer.alloc(0) }],
      ['805C000204', { cla: 0x80, ins: 0x5c, p1: 0x00, p2: 0x02, data: Buffer.alloc(0), le: 4 }],
      ['00A4000C023F00', { cla: 0x00, ins: 0xa4, p1: 0x00, p2: 0x0c, data: fromHex('3F00') }],
      ['00A4040007A000000333010100', { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: fromHex('A0000003330101'), le: 256 }],
    ];
    for (const [hex, command] of cases) {
      assert.equal(hexOf(command), hex);
      assert.deepStrictEqual(decodeCommandApdu(fromHex(hex)), command);
    }
  });

  it('refuses malformed commands with a typed error', () => {
    assertApduError(() => decodeCommandApdu(fromHex('00A404')), 'too_short');
    assertApduError(() => decodeCommandApdu(fromHex('00A40400 0000 07 A0000003330101 0000')), 'extended_length');
    assertApduError(() => decodeCommandApdu(fromHex('00A40400 07 A00000033301')), 'length_mismatch');
    assertApduError(() => decodeCommandApdu(fromHex('00A40400 02 3F00 00 00')), 'length_mismatch');
    assertApduError(() => decodeCommandApdu(fromHex('FFA40400')), 'bad_cla');
    assertApduError(() => decodeCommandApdu(fromHex('00600000')), 'bad_ins');
    assertApduError(() => decodeCommandApdu(fromHex('00920000')), 'bad_ins');
    assertApduError(() => decodeCommandApdu(Buffer.alloc(262, 1)), 'too_long');
  });

  it('treats bad fields on encoding as programmer errors', () => {
    assert.throws(() => encodeCommandApdu({ cla: 0, ins: 0xa4, p1: 0, p2: 0, data: Buffer.alloc(256) }), assert.AssertionError);
    assert.throws(() => encodeCommandApdu({ cla: 0, ins: 0xa4, p1: 0, p2: 0, data: Buffer.alloc(0), le: 0 }), assert.AssertionError);
  });
});

describe('response APDU and status words (ISO 7816-4, 5.3 and 5.6)', () => {
  it('splits data from SW1 SW2', () => {
    const response = decodeResponseApdu(fromHex('6F0A840E 9000'));
    assert.equal(toHex(response.data), '6F0A840E');
    assert.equal(response.sw, SW.OK);
    assert.deepStrictEqual(decodeResponseApdu(fromHex('6A82')), { data: Buffer.alloc(0), sw: SW.FILE_NOT_FOUND });
    assert.equal(toHex(encodeResponseApdu({ data: fromHex('00000064'), sw: 0x9000 })), '000000649000');
  });

  it('refuses responses without a valid status word', () => {
    assertApduError(() => decodeResponseApdu(fromHex('90')), 'too_short');
    assertApduError(() => decodeResponseApdu(fromHex('1234')), 'bad_status_word');
    assertApduError(() => decodeResponseApdu(fromHex('6000')), 'bad_status_word');
    assertApduError(() => decodeResponseApdu(Buffer.alloc(259, 0x90)), 'too_long');
  });

  it('names the status words a POS and a gate meet', () => {
    assert.equal(SW.FILE_NOT_FOUND, 0x6a82);
    assert.equal(describeStatusWord(0x6a82), 'file or application not found');
    assert.equal(describeStatusWord(0x6985), 'conditions of use not satisfied');
    assert.equal(describeStatusWord(0x6983), 'authentication method blocked');
    assert.equal(describeStatusWord(SW.PBOC_INSUFFICIENT_BALANCE), 'insufficient balance');
    assert.equal(describeStatusWord(SW.PBOC_MAC_INVALID), 'MAC invalid');
    assert.equal(describeStatusWord(0x63c2), 'verification failed, 2 tries left');
    assert.equal(describeStatusWord(0x6110), '16 more response bytes available');
    assert.equal(describeStatusWord(0x6c00), 'wrong Le: 256 bytes available');
    assert.equal(describeStatusWord(0x6581), 'status 6581');
    assert.equal(retriesLeft(0x63c0), 0);
    assert.equal(retriesLeft(0x9000), undefined);
    assert.equal(isValidStatusWord(0x9401), true);
  });
});

describe('EMV commands a POS sends (EMV Book 3, 6.5)', () => {
  it('SELECT PPSE is the well-known 00 A4 04 00 0E 2PAY.SYS.DDF01 00', () => {
    assert.equal(hexOf(selectPpse()), '00A404000E325041592E5359532E444446303100');
    assert.equal(hexOf(selectByName(fromHex('A000000333010101'))), '00A4040008A00000033301010100');
    assert.equal(hexOf(selectByName(fromHex('A000000333010101'), 'next')), '00A4040208A00000033301010100');
  });

  it('GET PROCESSING OPTIONS wraps PDOL data in tag 83', () => {
    assert.equal(hexOf(getProcessingOptions()), '80A8000002830000');
    // PDOL 9F33 02 9F35 01 9F40 01 filled per EMV Book 3, 5.4 (see dol.test.ts).
    assert.equal(hexOf(getProcessingOptions(fromHex('A0A01670'))), '80A800000683' + '04A0A0167000');
    const long = getProcessingOptions(Buffer.alloc(200));
    assert.equal(toHex(long.data.subarray(0, 3)), '8381C8');
  });

  it('READ RECORD puts the SFI in P2 as SFI << 3 | 4', () => {
    assert.equal(hexOf(readRecord(1, 1)), '00B2010C00');
    assert.equal(hexOf(readRecord(2, 3)), '00B2031400');
    assert.throws(() => readRecord(31, 1), assert.AssertionError);
  });

  it('GENERATE AC asks for a cryptogram type in P1, with CDA in b5', () => {
    const cdol = fromHex('000000001000');
    assert.equal(hexOf(generateAc('ARQC', cdol)), '80AE800006000000001000' + '00');
    assert.equal(generateAc('TC', cdol).p1, 0x40);
    assert.equal(generateAc('AAC', cdol).p1, 0x00);
    assert.equal(generateAc('ARQC', cdol, { cda: true }).p1, 0x90);
  });

  it('GET DATA for the ATC', () => {
    assert.equal(hexOf(getData('9F36')), '80CA9F3600');
  });
});

describe('PBOC e-purse commands (JR/T 0025.2)', () => {
  const terminalId = fromHex('112233445566');

  it('GET BALANCE is 80 5C 00 02 04', () => {
    assert.equal(hexOf(getBalance()), '805C000204');
    assert.equal(GET_BALANCE_RESPONSE.decode(fromHex('00002710')).balanceFen, 10_000n);
  });

  it('INITIALIZE FOR PURCHASE is 80 50 01 02 0B key amount terminal 0F', () => {
    const command = initializeForPurchase({ keyIndex: 1, amountFen: 1n, terminalId });
    assert.equal(hexOf(command), '805001020B' + '01' + '00000001' + '112233445566' + '0F');
    const response = INITIALIZE_FOR_PURCHASE_RESPONSE.decode(fromHex('000003E8 0005 000000 01 00 A1B2C3D4'));
    assert.equal(response.balanceFen, 1000n);
    assert.equal(response.offlineSeq, 5);
    assert.equal(response.overdraftLimitFen, 0n);
    assert.equal(response.keyVersion, 1);
    assert.equal(toHex(response.random), 'A1B2C3D4');
  });

  it('DEBIT FOR PURCHASE is 80 54 01 00 0F seq date time MAC1 08', () => {
    const data = { terminalSeq: 0x12, date: '20250612', time: '103015', mac1: fromHex('01020304') };
    assert.equal(hexOf(debitForPurchase(data)), '805401000F' + '00000012' + '20250612' + '103015' + '01020304' + '08');
    assert.deepStrictEqual(DEBIT_FOR_PURCHASE_DATA.decode(DEBIT_FOR_PURCHASE_DATA.encode(data)), data);
    const response = DEBIT_FOR_PURCHASE_RESPONSE.decode(fromHex('AABBCCDD 11223344'));
    assert.equal(toHex(response.tac), 'AABBCCDD');
    assert.equal(toHex(response.mac2), '11223344');
  });

  it('INITIALIZE FOR LOAD is 80 50 00 02 0B key amount terminal 10', () => {
    const command = initializeForLoad({ keyIndex: 1, amountFen: 1000n, terminalId: fromHex('130000000001') });
    assert.equal(hexOf(command), '805000020B01000003E8130000000001' + '10');
    const response = INITIALIZE_FOR_LOAD_RESPONSE.decode(fromHex('00000000 0001 01 00 01020304 0A0B0C0D'));
    assert.equal(response.onlineSeq, 1);
    assert.equal(toHex(response.mac1), '0A0B0C0D');
  });

  it('CREDIT FOR LOAD is 80 52 00 00 0B date time MAC2 04', () => {
    const command = creditForLoad({ date: '20250612', time: '235959', mac2: fromHex('DEADBEEF') });
    assert.equal(hexOf(command), '805200000B' + '20250612' + '235959' + 'DEADBEEF' + '04');
    assert.equal(toHex(CREDIT_FOR_LOAD_RESPONSE.decode(fromHex('01020304')).tac), '01020304');
  });

  it('the card side decodes its commands; bad sizes and BCD are typed errors', () => {
    const command = decodeCommandApdu(encodeCommandApdu(initializeForPurchase({ keyIndex: 2, amountFen: 4_294_967_295n, terminalId })));
    assert.equal(command.le, 0x0f);
    assertApduError(() => INITIALIZE_FOR_PURCHASE_RESPONSE.decode(Buffer.alloc(14)), 'length_mismatch');
    assertApduError(() => DEBIT_FOR_PURCHASE_DATA.decode(fromHex('00000001 2025061A 103015 01020304')), 'bad_data');
    assert.throws(() => initializeForPurchase({ keyIndex: 1, amountFen: 1n << 32n, terminalId }), assert.AssertionError);
    assert.throws(() => initializeForPurchase({ keyIndex: 1, amountFen: -1n, terminalId }), assert.AssertionError);
  });
});

const commandArb: fc.Arbitrary<CommandApdu> = fc
  .tuple(
    fc.integer({ min: 0, max: 0xfe }),
    fc.integer({ min: 0, max: 0xff }).filter((ins) => (ins & 0xf0) !== 0x60 && (ins & 0xf0) !== 0x90),
    fc.integer({ min: 0, max: 0xff }),
    fc.integer({ min: 0, max: 0xff }),
    fc.uint8Array({ maxLength: 255 }),
    fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
  )
  .map(([cla, ins, p1, p2, data, le]) => {
    const header = { cla, ins, p1, p2, data: Buffer.from(data) };
    return le === undefined ? header : { ...header, le };
  });

describe('APDU properties', () => {
  it('decode(encode(command)) = command', () => {
    fc.assert(
      fc.property(commandArb, (command) => {
        assert.deepStrictEqual(decodeCommandApdu(encodeCommandApdu(command)), command);
      }),
    );
  });

  it('decode(encode(response)) = response', () => {
    const responseArb: fc.Arbitrary<ResponseApdu> = fc
      .tuple(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 0, max: 0xffff }).filter(isValidStatusWord))
      .map(([data, sw]) => ({ data: Buffer.from(data), sw }));
    fc.assert(
      fc.property(responseArb, (response) => {
        assert.deepStrictEqual(decodeResponseApdu(encodeResponseApdu(response)), response);
      }),
    );
  });

  it('e-purse layouts round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 15, maxLength: 15 }), (bytes) => {
        const data = Buffer.from(bytes);
        assert.deepStrictEqual(INITIALIZE_FOR_PURCHASE_RESPONSE.encode(INITIALIZE_FOR_PURCHASE_RESPONSE.decode(data)), data);
      }),
    );
  });

  it('random bytes only ever raise ApduError', () => {
    const decoders = [
      decodeCommandApdu,
      decodeResponseApdu,
      INITIALIZE_FOR_PURCHASE_RESPONSE.decode,
      DEBIT_FOR_PURCHASE_DATA.decode,
      INITIALIZE_FOR_LOAD_RESPONSE.decode,
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 270 }), (bytes) => {
        for (const decode of decoders) {
          try {
            decode(Buffer.from(bytes));
          } catch (error) {
            assert.ok(error instanceof ApduError, String(error));
          }
        }
      }),
    );
  });
});
