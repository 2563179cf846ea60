// The well-known keys a phone tries on each sector of a MIFARE Classic card. A card that opens
// with one of these in every sector is "unencrypted": anyone with a reader can copy it, so the
// phone may too. A sector that only a key outside this list opens means the card's issuer chose
// its own keys, which the phone does not know and must not guess at.

export interface DefaultKey {
  /** 6 bytes, hex. */
  key: string;
  /** Where the key comes from, so the list can be checked. */
  source: string;
}

/** Proxmark3 client, client/src/mifare/mifaredefault.h, g_mifare_default_keys. */
const PM3 = 'Proxmark3 default key list (client/src/mifare/mifaredefault.h)';

export const defaultClassicKeys: readonly DefaultKey[] = [
  { key: 'FFFFFFFFFFFF', source: 'NXP transport key of a new card (MF1S50yyX datasheet, 8.6.3); first in the ' + PM3 },
  { key: '000000000000', source: 'blank key of unpersonalised clone cards; ' + PM3 },
  { key: 'A0A1A2A3A4A5', source: 'MIFARE Application Directory key A (NXP AN10787); "NFCForum MAD key" in ' + PM3 },
  { key: 'D3F7D3F7D3F7', source: 'NFC Forum public key A of NDEF sectors (NXP AN1305); "NDEF public key" in ' + PM3 },
  { key: 'B0B1B2B3B4B5', source: PM3 },
  { key: 'C0C1C2C3C4C5', source: PM3 },
  { key: 'D0D1D2D3D4D5', source: PM3 },
  { key: 'AABBCCDDEEFF', source: PM3 },
  { key: '1A2B3C4D5E6F', source: PM3 },
  { key: '123456789ABC', source: PM3 },
  { key: '010203040506', source: PM3 },
  { key: '123456ABCDEF', source: PM3 },
  { key: 'ABCDEF123456', source: PM3 },
  { key: '4D3A99C351DD', source: PM3 },
  { key: '1A982C7E459A', source: PM3 },
  { key: '714C5C886E97', source: PM3 },
  { key: '587EE5F9350F', source: PM3 },
  { key: 'A0478CC39091', source: PM3 },
  { key: '533CB6C723F6', source: PM3 },
  { key: '8FD0A4F256E9', source: PM3 },
];

const defaultKeySet = new Set(defaultClassicKeys.map((k) => k.key));

export function isDefaultKey(key: Buffer): boolean {
  return defaultKeySet.has(key.toString('hex').toUpperCase());
}
