/**
 * Checks an uploaded identity photo by its bytes, not by what the client says it is: the PNG or
 * JPEG signature (magic bytes), the size, and the pixel dimensions read from the header (PNG's
 * IHDR chunk, ISO/IEC 15948 §11.2.2; JPEG's start-of-frame segment, ITU-T T.81 §B.2.2).
 */
import { errors } from '../errors.ts';

export const identityImageLimits = { bytesMax: 4 * 1024 * 1024, sideMinPx: 300, sideMaxPx: 8_000 } as const;

export interface ImageInfo {
  mediaType: 'image/png' | 'image/jpeg';
  width: number;
  height: number;
}

const pngSignature = Buffer.from('89504e470d0a1a0a', 'hex');

/** The type and pixel size of a PNG or JPEG, or undefined when the bytes are neither (or truncated). */
export function readImageHeader(bytes: Buffer): ImageInfo | undefined {
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(pngSignature)) {
    // The first chunk must be IHDR with 13 bytes of data: width and height, 4 bytes each, big-endian.
    if (bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
    return { mediaType: 'image/png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return readJpeg(bytes);
  return undefined;
}

function readJpeg(bytes: Buffer): ImageInfo | undefined {
  let at = 2;
  // Walk the marker segments up to the first start of frame (SOF0–SOF15 but DHT C4, JPG C8 and DAC CC).
  for (let segments = 0; segments < 1_000 && at + 4 <= bytes.length; segments++) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image or scan before any frame header
    const length = bytes.readUInt16BE(at + 2);
    if (length < 2) return undefined;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > bytes.length) return undefined;
      return { mediaType: 'image/jpeg', height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  return undefined;
}

/** Decodes and checks one identity photo (base64); the refusal names `param`. */
export function checkIdentityImage(base64: string, param: string): { bytes: Buffer; info: ImageInfo } {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw errors.identity_image_invalid('The photo is not base64.', param);
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw errors.identity_image_invalid('The photo is empty.', param);
  if (bytes.length > identityImageLimits.bytesMax) throw errors.identity_image_invalid('The photo is larger than 4 MB.', param);
  const info = readImageHeader(bytes);
  if (!info) throw errors.identity_image_invalid('The photo is not a PNG or JPEG image.', param);
  const { sideMinPx: min, sideMaxPx: max } = identityImageLimits;
  if (info.width < min || info.height < min || info.width > max || info.height > max) {
    throw errors.identity_image_invalid(`The photo must be between ${min} and ${max} pixels on each side (it is ${info.width}×${info.height}).`, param);
  }
  return { bytes, info };
}
