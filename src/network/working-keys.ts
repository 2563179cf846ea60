// A terminal's keys and how they travel (DESIGN section 1). Registration is the key ceremony: it
// makes the terminal master key (TMK), loaded once into the terminal. A sign-on (0800, field 70 =
// 001, or 101 for a key change) gives the terminal fresh working keys — the PIN key (TPK) and the
// MAC key (TAK) — each encrypted under its TMK with a key check value, in field 62. Terminals and
// the network both use this file, so it is exported through client.ts.
import { timingSafeEqual } from 'node:crypto';
import { decryptEcb, encryptEcb, keyCheckValue } from '../protocols/crypto/index.ts';
import { textField, type Iso8583Message } from '../protocols/iso8583/codec.ts';

/** TPK and TAK: double-length 3DES keys. */
export interface WorkingKeys {
  terminalPinKey: Buffer;
  terminalMacKey: Buffer;
}

const keyCheckValueBytes = 3;
const signOnKeyData = Buffer.from('5349474E2D4F4E204D4143204B455920', 'hex'); // "SIGN-ON MAC KEY "

/**
 * The key that MACs a sign-on request (field 128): derived from the TMK as E_TMK(constant), so a
 * sign-on proves the sender holds the terminal's TMK without the TMK itself ever MACing data.
 * Without it anyone could sign a terminal on and retire its keys in the middle of its day.
 */
export function signOnMacKey(terminalMasterKey: Buffer): Buffer {
  return encryptEcb('tdes', terminalMasterKey, signOnKeyData);
}

/**
 * Field 62 of a sign-on answer, as hex: TPK under TMK (16 bytes) ‖ KCV(TPK) (3) ‖ TAK under TMK
 * (16) ‖ KCV(TAK) (3) — 76 characters. Keys are encrypted with 3DES ECB under the TMK, as
 * terminal working keys are in the CUPS POS profile.
 */
export function formatWorkingKeys(terminalMasterKey: Buffer, keys: WorkingKeys): string {
  const part = (key: Buffer) => Buffer.concat([encryptEcb('tdes', terminalMasterKey, key), keyCheckValue('tdes', key, keyCheckValueBytes)]);
  return Buffer.concat([part(keys.terminalPinKey), part(keys.terminalMacKey)]).toString('hex').toUpperCase();
}

/** Reads field 62 of a sign-on answer with the terminal's TMK; undefined when it is malformed or a check value fails. */
export function readWorkingKeys(terminalMasterKey: Buffer, answer: Iso8583Message): WorkingKeys | undefined {
  const f62 = textField(answer, 62);
  if (!f62 || !/^[0-9A-F]{76}$/.test(f62)) return undefined;
  const bytes = Buffer.from(f62, 'hex');
  const open = (offset: number): Buffer | undefined => {
    const key = decryptEcb('tdes', terminalMasterKey, bytes.subarray(offset, offset + 16));
    const given = bytes.subarray(offset + 16, offset + 16 + keyCheckValueBytes);
    return timingSafeEqual(keyCheckValue('tdes', key, keyCheckValueBytes), given) ? key : undefined;
  };
  const terminalPinKey = open(0);
  const terminalMacKey = open(19);
  return terminalPinKey && terminalMacKey ? { terminalPinKey, terminalMacKey } : undefined;
}
