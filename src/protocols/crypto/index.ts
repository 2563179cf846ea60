// Public surface of the EMV / payment crypto layer. Parties import from here.

export { CryptoInputError, PAN_DIGITS_MAX, PAN_DIGITS_MIN, PIN_DIGITS_MAX, PIN_DIGITS_MIN } from './errors.ts';
export type { CryptoInputErrorCode } from './errors.ts';
export {
  CRYPTOGRAM_ALGORITHMS,
  blockSizeOf,
  decryptEcb,
  desDecrypt,
  desEncrypt,
  encryptCbc,
  encryptEcb,
  keyLengthsOf,
  sm4DecryptBlock,
  sm4EncryptBlock,
  xorBuffers,
} from './algorithms.ts';
export type { CryptogramAlgorithm } from './algorithms.ts';
export { adjustDesParity, generateKey, hasOddDesParity, keyCheckValue } from './keys.ts';
export { MAC_DATA_BYTES_MAX, cbcMac, padIso9797, retailMac, sm4Mac } from './mac.ts';
export type { Iso9797PaddingMethod } from './mac.ts';
export { aesCmac, cmac, cmacSubkeys } from './cmac.ts';
export { PRINTED_VALUE_SERVICE_CODE, cardVerificationValue } from './card-verification-value.ts';
export type { CmacAlgorithm } from './cmac.ts';
export { CARD_KEY_BYTES, deriveIccMasterKeyOptionA, optionADiversificationValue } from './key-derivation.ts';
export {
  ATC_BYTES,
  commonSessionKeyDiversifier,
  deriveCommonSessionKey,
  deriveCommonSessionKeyFromR,
  derivePbocSessionKey,
} from './session-key.ts';
export {
  APPLICATION_CRYPTOGRAM_BYTES,
  ARC_BYTES,
  applicationCryptogramMac,
  generateApplicationCryptogram,
  generateArpcMethod1,
  verifyApplicationCryptogram,
  verifyArpcMethod1,
} from './cryptogram.ts';
export { ISSUER_APPLICATION_DATA_BYTES_MAX, buildRecommendedCryptogramData } from './cryptogram-data.ts';
export type { RecommendedCryptogramData } from './cryptogram-data.ts';
export {
  PIN_BLOCK_FORMAT_0_BYTES,
  PIN_BLOCK_FORMAT_BY_ALGORITHM,
  buildPinBlockFormat0,
  decryptPinBlock,
  encryptPinBlock,
  panFieldFormat0,
  parsePinBlockFormat0,
} from './pin-block.ts';
export {
  buildPanFieldFormat4,
  buildPinFieldFormat4,
  decipherPinBlockFormat4,
  encipherPinBlockFormat4,
  parsePinFieldFormat4,
} from './pin-block-format-4.ts';
export { IBM_3624_DECIMALIZATION_TABLE, ibm3624NaturalPin, ibm3624Offset, ibm3624OffsetMatches } from './pin-offset.ts';
export type { PinOffsetParameters } from './pin-offset.ts';
