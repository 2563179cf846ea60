// Why a card or a dump file cannot become a door card. Operating errors: the caller shows them.

export type MifareErrorCode =
  /** The file is not a readable dump: wrong size, bad hex, truncated, missing field. */
  | 'dump_invalid'
  /** The UID the file names is not the one in block 0. */
  | 'uid_mismatch'
  /** Block 0's check byte is not the exclusive-or of the UID (ISO/IEC 14443-3, 6.5.3.2). */
  | 'bcc_invalid'
  /** A sector trailer's access bits disagree with their stored inverses. */
  | 'access_bits_invalid'
  /** Not a MIFARE Classic 1K or 4K card (a CPU card, an Ultralight, …), or ATQA/SAK contradict the layout. */
  | 'card_type_not_supported'
  /** A sector opens only with a key the phone does not know. */
  | 'card_encrypted';

export class MifareError extends Error {
  override readonly name = 'MifareError';
  readonly code: MifareErrorCode;
  /** The field, line or block at fault (e.g. `blocks.3`, `line 5`, `sector 4`). */
  readonly where: string | undefined;
  /** For `card_encrypted` and `access_bits_invalid`: the first sector concerned. */
  readonly sector: number | undefined;

  constructor(code: MifareErrorCode, message: string, details: { where?: string; sector?: number } = {}) {
    super(message);
    this.code = code;
    this.where = details.where;
    this.sector = details.sector;
  }
}
