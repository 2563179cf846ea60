// Every parser of bytes that come from outside the process, as a fuzz target: the bytes a card
// or phone answers a terminal (BER-TLV, DOL, response APDUs, e-purse records), what a terminal
// sends a phone (command APDUs), what arrives on the ISO 8583 ports (frames, messages), the
// phone's state file as it lies on disk, and the MIFARE dump files users import. Each names the
// errors its callers catch ("typed"); the harness fails on anything else.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  ApduError, CREDIT_FOR_LOAD_DATA, DEBIT_FOR_PURCHASE_DATA, DEBIT_FOR_PURCHASE_RESPONSE, GET_BALANCE_RESPONSE,
  INITIALIZE_DATA, INITIALIZE_FOR_LOAD_RESPONSE, INITIALIZE_FOR_PURCHASE_RESPONSE, decodeCommandApdu,
  decodeResponseApdu, encodeCommandApdu,
  encodeResponseApdu, generateAc, getProcessingOptions, selectPpse, type FixedLayout,
} from '../protocols/apdu.ts';
import { dolDataLength, parseDol, splitDolData } from '../protocols/dol.ts';
import { ISSUER_FILE, TRANSACTION_RECORD, TRIP_RECORD } from '../protocols/epurse/files.ts';
import { Iso8583Error, decodeMessage, encodeMessage, type Iso8583Message } from '../protocols/iso8583/codec.ts';
import { FrameReader, FramingError, encodeFrame } from '../protocols/iso8583/framing.ts';
import { CUPS_BCD_SPEC, CUPS_SPEC } from '../protocols/iso8583/spec.ts';
import { readDumpFile } from '../protocols/mifare/dump-file.ts';
import { MifareError } from '../protocols/mifare/errors.ts';
import { TlvError, decodeTlv, encodeTlv, flattenTlv, tlv } from '../protocols/tlv.ts';
import { phoneStateCodec } from '../phone/phone-state.ts';
import { SecureElementError, decodeContents, parseEnvelope } from '../phone/secure-element.ts';
import { bytesNear, jsonNear, type FuzzTarget } from './harness.ts';

const hex = (text: string) => Buffer.from(text, 'hex');

// BER-TLV answers a card gives a terminal: SELECT PPSE (UnionPay debit), a GPO format 2 answer.
const tlvSeeds = [
  hex('6F30840E325041592E5359532E4444463031A51EBF0C1B61194F08A000000333010101500A50424F43204445424954870101'),
  encodeTlv(tlv('77', [
    tlv('82', hex('2000')), tlv('94', hex('08010100')), tlv('9F36', hex('0001')), tlv('9F26', hex('E13DB3D65B106EAB')),
    tlv('9F10', hex('07060111039000')), tlv('57', hex('6217000010000000003D30122010000000000F')),
    tlv('9F4B', Buffer.alloc(130, 0x5a)),
  ])),
];
// A qPBOC PDOL and a CDOL1.
const dolSeeds = [
  hex('9F66049F02069F03069F1A0295055F2A029A039C019F3704'), hex('9F02069F03069F1A0295055F2A029A039C019F37049F3501'),
];
const sampleSale: Iso8583Message = {
  mti: '0200',
  fields: {
    2: '6217000010000000003', 3: '000000', 4: '000000002350', 11: '000001', 12: '101010', 13: '1207', 14: '3012',
    22: '072', 23: '001', 25: '00', 41: 'POS00001', 42: '898110000000001', 49: '156', 55: tlvSeeds[1]!,
    64: Buffer.alloc(8, 0x11),
  },
};
const sampleReversal: Iso8583Message = {
  mti: '0400', fields: { ...sampleSale.fields, 64: undefined, 90: '0'.repeat(42), 128: Buffer.alloc(8) },
};
const sampleSignOn: Iso8583Message = {
  mti: '0800', fields: { 7: '1207101010', 11: '000002', 41: 'POS00001', 42: '898110000000001', 70: '001' },
};
const isoMessages = [sampleSale, sampleReversal, sampleSignOn];

const epurseLayouts: readonly FixedLayout<unknown>[] = [
  INITIALIZE_DATA, INITIALIZE_FOR_PURCHASE_RESPONSE, DEBIT_FOR_PURCHASE_DATA, DEBIT_FOR_PURCHASE_RESPONSE,
  INITIALIZE_FOR_LOAD_RESPONSE, CREDIT_FOR_LOAD_DATA, GET_BALANCE_RESPONSE, ISSUER_FILE, TRANSACTION_RECORD,
  TRIP_RECORD,
] as readonly FixedLayout<any>[];

const dumpFixture = (name: string) => readFileSync(new URL(`../protocols/mifare/fixtures/${name}`, import.meta.url));
const dumpSamples = [
  { name: 'door-1k.bin', bytes: dumpFixture('door-1k.bin') },
  { name: 'door-1k.eml', bytes: dumpFixture('door-1k.eml') },
  { name: 'door-1k.json', bytes: dumpFixture('door-1k.json') },
  { name: 'door-1k-v2.nfc', bytes: dumpFixture('door-1k-v2.nfc') },
  { name: 'door-4k-7byte.nfc', bytes: dumpFixture('door-4k-7byte.nfc') },
];

const b64 = (length: number) => Buffer.alloc(length, 0xa5).toString('base64');
const envelopeSeed = Buffer.from(JSON.stringify({
  format: 'mipay-phone-secure-element', version: 1,
  kdf: { name: 'scrypt', n: 32768, r: 8, p: 1, salt: b64(16), key_length: 32 },
  key_check: b64(32), cipher: { name: 'aes-256-gcm', iv: b64(12), tag: b64(16) }, ciphertext: b64(200),
}, null, 2));
const stateSeedDocument = {
  stateVersion: 2, platformUrl: 'http://127.0.0.1:7300', session: null, deviceId: null,
  device: { model: 'MI 9', osVersion: 'V10.2.1.0', nfc: true, secureElement: true },
  deviceKey: { privateKeyPkcs8: b64(16), publicKeySpki: b64(16) }, fingerprint: { enrolled: true },
  cards: [{
    cardId: 'dc_1',
    lukBatches: [{ batchId: 'b1', expiresAt: '2026-12-31T00:00:00Z', atcs: [1, 2], keys: ['aa', 'bb'] }],
  }],
  pay: { selectedCardId: null, armedUntil: null }, pendingCard: null,
};

export const fuzzTargets: readonly FuzzTarget<any>[] = [
  {
    name: 'tlv',
    description: 'BER-TLV (EMV Book 3 Annex B) as a card answers a terminal: decodeTlv, then flattenTlv',
    typedErrors: [TlvError],
    input: bytesNear(tlvSeeds),
    parse: (bytes: Buffer) => flattenTlv(decodeTlv(bytes)),
  },
  {
    name: 'dol',
    description: 'a card\'s PDOL/CDOL (EMV Book 3, 5.4) and the DOL data a terminal sends back: parseDol, splitDolData',
    typedErrors: [TlvError],
    // The data is mostly of the length the DOL asks for (else splitDolData refuses it at once).
    input: fc.tuple(bytesNear(dolSeeds, 256), fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0, 0, 0, -1, 1)),
    parse: ([dol, data, offBy]: [Buffer, Uint8Array, number]) => {
      const entries = parseDol(dol);
      const length = Math.max(0, dolDataLength(entries) + offBy);
      const padded = Buffer.concat([Buffer.from(data), Buffer.alloc(Math.max(0, length - data.length))]);
      return splitDolData(entries, padded.subarray(0, length));
    },
  },
  {
    name: 'command-apdu',
    description: 'command APDUs a terminal sends a phone\'s applets (ISO 7816-4, 5.1): decodeCommandApdu',
    typedErrors: [ApduError],
    input: bytesNear([
      encodeCommandApdu(selectPpse()), encodeCommandApdu(getProcessingOptions(hex('8319'))),
      encodeCommandApdu(generateAc('ARQC', Buffer.alloc(29, 1))),
    ], 300),
    parse: (bytes: Buffer) => decodeCommandApdu(bytes),
  },
  {
    name: 'response-apdu',
    description: 'response APDUs a phone or card answers a terminal (ISO 7816-4, 5.1): decodeResponseApdu',
    typedErrors: [ApduError],
    input: bytesNear([
      encodeResponseApdu({ data: tlvSeeds[0]!, sw: 0x9000 }), encodeResponseApdu({ data: Buffer.alloc(0), sw: 0x6a82 }),
    ], 300),
    parse: (bytes: Buffer) => decodeResponseApdu(bytes),
  },
  {
    name: 'epurse',
    description: 'PBOC e-purse command data, responses and records (JR/T 0025): every fixed layout\'s decode',
    typedErrors: [ApduError],
    input: fc.tuple(fc.nat({ max: epurseLayouts.length - 1 }), fc.uint8Array({ maxLength: 40 })),
    parse: ([which, bytes]: [number, Uint8Array]) => epurseLayouts[which]!.decode(Buffer.from(bytes)),
  },
  {
    name: 'iso8583',
    description: 'ISO 8583 messages as they arrive on the network and bank ports: ASCII (bank link), BCD (terminals)',
    typedErrors: [Iso8583Error],
    input: fc.tuple(
      fc.boolean(),
      bytesNear(isoMessages.flatMap((m) => [encodeMessage(m, CUPS_SPEC), encodeMessage(m, CUPS_BCD_SPEC)]), 2048),
    ),
    // What decodes encodes to bytes that decode to the same message (an assertion otherwise). Not
    // byte-equal: the decoder takes a secondary bitmap with no field 66–128 set, which the encoder
    // leaves out (found by a 10^6 run; a second wire form of the same message, MACs unaffected).
    parse: ([bcd, bytes]: [boolean, Buffer]) => {
      const spec = bcd ? CUPS_BCD_SPEC : CUPS_SPEC;
      const message = decodeMessage(bytes, spec);
      const again = decodeMessage(encodeMessage(message, spec), spec);
      assert.deepEqual(again, message, 'decode, encode, decode changed the message');
    },
  },
  {
    name: 'iso8583-stream',
    description: 'a TCP byte stream on an ISO 8583 port in arbitrary chunks: FrameReader, then each frame decoded',
    typedErrors: [FramingError, Iso8583Error],
    input: fc.tuple(
      bytesNear(isoMessages.map((m) => Buffer.concat([0, 1].map(() => encodeFrame(encodeMessage(m, CUPS_BCD_SPEC))))),
        4096),
      fc.array(fc.integer({ min: 1, max: 600 }), { maxLength: 8 }),
    ),
    parse: ([stream, cuts]: [Buffer, number[]]) => {
      const reader = new FrameReader();
      let offset = 0;
      for (const length of [...cuts, stream.length]) {
        for (const frame of reader.push(stream.subarray(offset, offset + length))) decodeMessage(frame, CUPS_BCD_SPEC);
        offset += length;
        if (offset >= stream.length) break;
      }
      reader.end();
    },
  },
  {
    name: 'phone-state-file',
    description: 'the phone\'s state file as read from disk (its envelope), and its decrypted contents',
    typedErrors: [SecureElementError],
    input: fc.tuple(
      bytesNear([envelopeSeed], 4096),
      fc.oneof(bytesNear([Buffer.from(JSON.stringify(stateSeedDocument))], 4096), jsonNear(stateSeedDocument)),
    ),
    parse: ([file, plaintext]: [Buffer, Buffer]) => {
      let refusal: unknown;
      try {
        parseEnvelope('phone.json', file);
      } catch (error) {
        refusal = error;
      }
      decodeContents('phone.json', plaintext, phoneStateCodec);
      if (refusal) throw refusal;
    },
  },
  {
    name: 'mifare-dump',
    description: 'MIFARE Classic dump files users import (Proxmark3 .bin/.eml/.json, Flipper Zero .nfc): readDumpFile',
    typedErrors: [MifareError],
    input: fc.nat({ max: dumpSamples.length - 1 }).chain((which) => fc.tuple(
      fc.constant(dumpSamples[which]!.name), bytesNear([dumpSamples[which]!.bytes], 16 * 1024),
    )),
    parse: ([name, bytes]: [string, Buffer]) => readDumpFile(name, bytes),
  },
];
