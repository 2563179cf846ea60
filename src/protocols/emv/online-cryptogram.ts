// The issuer's checks of the chip data in field 55: the ARQC over the EMV Book 2 8.1.1
// recommended data set, recomputed under the AC session key derived for the card's ATC, and
// the ARPC (method 1) the card may check in turn. Shared by the banks (physical cards, under
// the card's MK-AC) and the platform's token service (device cards, under the token's MK-AC,
// whose session key per ATC is the limited-use key the phone holds).
import {
  buildRecommendedCryptogramData,
  deriveCommonSessionKey,
  generateArpcMethod1,
  verifyApplicationCryptogram,
  type CryptogramAlgorithm,
} from '../crypto/index.ts';
import { bcdToAmount } from '../hex.ts';
import { decodeTlv, encodeTlv, flattenTlv, tlv, TlvError } from '../tlv.ts';

export type ChipCheck =
  | { ok: true; atc: number; arqc: Buffer; sessionKey: Buffer; algorithm: CryptogramAlgorithm }
  | { ok: false; reason: 'FORMAT' | 'BAD_ARQC' | 'DATA_MISMATCH'; atc?: number };

const requiredTags = ['9F26', '9F27', '9F10', '9F36', '9F37', '9F02', '9F03', '9F1A', '95', '5F2A', '9A', '9C', '82'] as const;

/** Issuer Application Data (9F10) as UnionPay cards lay it out: length, DKI, CVN, CVR (4 bytes). */
export function cvrOf(iad: Buffer): Buffer | undefined {
  return iad.length >= 7 ? iad.subarray(3, 7) : undefined;
}

export function checkArqc(options: {
  icc: Buffer;
  algorithm: CryptogramAlgorithm;
  cryptogramVersion: number;
  cardMasterKey: Buffer;
  amountFen: bigint;
}): ChipCheck {
  let values: Map<string, Buffer>;
  try {
    values = flattenTlv(decodeTlv(options.icc, { sizeMax: 255 }));
  } catch (error) {
    if (error instanceof TlvError) return { ok: false, reason: 'FORMAT' };
    throw error;
  }
  for (const tag of requiredTags) if (!values.has(tag)) return { ok: false, reason: 'FORMAT' };
  const atcBytes = values.get('9F36')!;
  const iad = values.get('9F10')!;
  const cvr = cvrOf(iad);
  if (atcBytes.length !== 2 || !cvr || values.get('9F26')!.length !== 8) return { ok: false, reason: 'FORMAT' };
  const atc = atcBytes.readUInt16BE(0);
  // The chip signed this amount: a message asking for another one is refused.
  if (bcdToAmount(values.get('9F02')!) !== options.amountFen || iad[2] !== options.cryptogramVersion) {
    return { ok: false, reason: 'DATA_MISMATCH', atc };
  }
  let data: Buffer;
  try {
    data = buildRecommendedCryptogramData({
      amountAuthorised: values.get('9F02')!, amountOther: values.get('9F03')!, terminalCountryCode: values.get('9F1A')!,
      terminalVerificationResults: values.get('95')!, transactionCurrencyCode: values.get('5F2A')!, transactionDate: values.get('9A')!,
      transactionType: values.get('9C')!, unpredictableNumber: values.get('9F37')!, applicationInterchangeProfile: values.get('82')!,
      applicationTransactionCounter: atcBytes, issuerApplicationDataPart: cvr,
    });
  } catch {
    return { ok: false, reason: 'FORMAT', atc };
  }
  const sessionKey = deriveCommonSessionKey(options.algorithm, options.cardMasterKey, atcBytes);
  const arqc = values.get('9F26')!;
  if (!verifyApplicationCryptogram(options.algorithm, sessionKey, data, arqc)) return { ok: false, reason: 'BAD_ARQC', atc };
  return { ok: true, atc, arqc, sessionKey, algorithm: options.algorithm };
}

/** Field 55 of the answer: 91 Issuer Authentication Data = ARPC (method 1) || ARC. */
export function issuerAuthenticationData(algorithm: CryptogramAlgorithm, check: Extract<ChipCheck, { ok: true }>, responseCode: string): Buffer {
  const arc = Buffer.from(responseCode, 'ascii');
  const arpc = generateArpcMethod1(algorithm, check.sessionKey, check.arqc, arc);
  return encodeTlv(tlv('91', Buffer.concat([arpc, arc])));
}
