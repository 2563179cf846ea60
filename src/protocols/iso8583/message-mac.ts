// The message authentication code of an ISO 8583 message (ISO 8583:1987, fields 64 and 128).
// The MAC is the last field of the message: 64 when the message has no secondary bitmap, 128
// when it has one. It is computed over a canonical encoding of the message — the ASCII CUPS
// spec with the MAC field present and set to eight zero bytes — so that the same message has the
// same MAC whatever encoding its link uses (the terminal link is BCD, the bank link ASCII).
import { timingSafeEqual } from 'node:crypto';
import { RetailMacContexts } from '../crypto/retail-mac-context.ts';
import { encodeMessage, type Iso8583Message } from './codec.ts';
import { CUPS_SPEC } from './spec.ts';

/** Link keys' MAC ciphers, set up once per key rather than once per message (retail-mac-context.ts). */
const macContexts = new RetailMacContexts();

/** Bytes of fields 64 and 128. */
export const MESSAGE_MAC_BYTES = 8;

/** Field 128 when any field of the secondary bitmap (66–127) is present, else field 64 (ISO 8583:1987, 4.1). */
export function macFieldOf(message: Iso8583Message): 64 | 128 {
  for (const [key, value] of Object.entries(message.fields)) {
    const field = Number(key);
    if (value !== undefined && field > 64 && field < 128) return 128;
  }
  return 64;
}

function canonicalBytes(message: Iso8583Message, macField: 64 | 128): Buffer {
  const fields: Record<number, string | Buffer | undefined> = { ...message.fields, 64: undefined, 128: undefined };
  fields[macField] = Buffer.alloc(MESSAGE_MAC_BYTES);
  return encodeMessage({ mti: message.mti, fields }, CUPS_SPEC);
}

/**
 * The MAC of `message` under a double-length 3DES MAC key (a terminal's TAK or a zone MAK):
 * ISO/IEC 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC), padding method 1, over the canonical
 * encoding. Every key on these links is 3DES, so there is no SM4 variant.
 */
export function computeMessageMac(key: Buffer, message: Iso8583Message): Buffer {
  return macContexts.of(key).mac(canonicalBytes(message, macFieldOf(message)), 1);
}

/** The message with its MAC in field 64 or 128 (whichever its bitmap calls for; the other is removed). */
export function withMessageMac(key: Buffer, message: Iso8583Message): Iso8583Message {
  const macField = macFieldOf(message);
  const mac = macContexts.of(key).mac(canonicalBytes(message, macField), 1);
  return { mti: message.mti, fields: { ...message.fields, 64: undefined, 128: undefined, [macField]: mac } };
}

/** True when the message carries, in the right field, the MAC `key` gives it (compared in constant time). */
export function hasValidMessageMac(key: Buffer, message: Iso8583Message): boolean {
  const macField = macFieldOf(message);
  const other = macField === 64 ? 128 : 64;
  const given = message.fields[macField];
  if (!Buffer.isBuffer(given) || given.length !== MESSAGE_MAC_BYTES || message.fields[other] !== undefined) return false;
  return timingSafeEqual(given, macContexts.of(key).mac(canonicalBytes(message, macField), 1));
}
