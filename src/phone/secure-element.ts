// The phone's secure element, modelled as one encrypted file: everything the phone must keep
// secret (its device key, session, device card numbers and limited-use keys) lives only in
// here. AES-256-GCM under a key stretched from the owner's passphrase with scrypt; the header
// (format, version, KDF parameters, salt, key check) is bound to the ciphertext as associated
// data, so changing any byte of the file is detected. Writes are atomic (temp file, fsync,
// rename, fsync of the folder), so a crash mid-write leaves the previous state intact.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const STATE_FILE_FORMAT = 'mipay-phone-secure-element';
export const STATE_FILE_VERSION = 1;
/** scrypt cost for new files: N = 2^15, r = 8, p = 1 (about 100 ms and 32 MiB, once per open). */
export const scryptDefaults = { n: 2 ** 15, r: 8, p: 1 } as const;
/**
 * Parameters read from a file's header are the attacker's choice (the header is checked only
 * after the key is derived), so they are bounded tightly, before deriving: at most twice the
 * default cost in memory (N ≤ 2^16, r ≤ 8: 64 MiB) and in work (128·N·r·p ≤ 64 MiB of mixing).
 * A bigger file is refused as malformed; this mipay never writes one.
 */
export const scryptLimits = { nMax: 2 ** 16, rMax: 8, pMax: 2, memoryBytesMax: 64 * 1024 * 1024, workBytesMax: 64 * 1024 * 1024 } as const;
const keyLength = 32;
const ivLength = 12;
const stateFileBytesMax = 4 * 1024 * 1024;
export const passphraseLengthMin = 8;
const passphraseLengthMax = 1024;

export type SecureElementErrorCode =
  | 'not_found' | 'already_exists' | 'malformed' | 'unsupported_version' | 'wrong_passphrase' | 'tampered' | 'passphrase_too_short' | 'changed_by_another_process';

/** The state file cannot be opened or made; never an automatic reset. */
export class SecureElementError extends Error {
  override readonly name = 'SecureElementError';
  readonly code: SecureElementErrorCode;

  constructor(code: SecureElementErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ScryptParameters { n: number; r: number; p: number }

/**
 * How a state is written as JSON and read back, when its in-memory shape is not the best one to
 * store (the phone groups its keys by batch). `decode` gets the parsed plaintext of a file that
 * passed authentication; it throws SecureElementError ('unsupported_version', 'malformed') for
 * contents it cannot read.
 */
export interface StateCodec<T> {
  encode(state: T): unknown;
  decode(value: unknown): T;
}

const asIs: StateCodec<any> = { encode: (state) => state, decode: (value) => value };

export interface Envelope {
  format: string;
  version: number;
  kdf: { name: 'scrypt'; n: number; r: number; p: number; salt: string; key_length: number };
  /** HMAC of a fixed label under the derived key: tells a wrong passphrase from a damaged file. */
  key_check: string;
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string };
  ciphertext: string;
}

function deriveKey(passphrase: string, salt: Buffer, cost: ScryptParameters): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem is the bound itself, not derived from the parameters: nothing outside it is allocated.
    scrypt(passphrase.normalize('NFC'), salt, keyLength, { N: cost.n, r: cost.r, p: cost.p, maxmem: scryptLimits.memoryBytesMax + 1024 * 1024 }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

function keyCheck(key: Buffer): Buffer {
  return createHmac('sha256', key).update('mipay-phone-secure-element key check').digest().subarray(0, 16);
}

/** Everything in the header that the ciphertext is bound to. */
function associatedData(envelope: Pick<Envelope, 'format' | 'version' | 'kdf' | 'key_check'>): Buffer {
  const { kdf } = envelope;
  return Buffer.from(JSON.stringify([envelope.format, envelope.version, kdf.name, kdf.n, kdf.r, kdf.p, kdf.salt, kdf.key_length, envelope.key_check]));
}

function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length < passphraseLengthMin) {
    throw new SecureElementError('passphrase_too_short', `The passphrase must be at least ${passphraseLengthMin} characters.`);
  }
  assert.ok(passphrase.length <= passphraseLengthMax, 'passphrase length');
}

/**
 * Writes `bytes` to `path` so that a reader sees the old file or the new one, never a mix:
 * a temp file in the same folder (mode 0600), fsync, rename over the old one, fsync the folder.
 */
export function writeFileAtomically(path: string, bytes: Buffer): { version: string } {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  let version: string;
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    version = fileVersion(fstatSync(fd, { bigint: true }));
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  // The rename itself is durable only once the folder's entry is on disk.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return { version };
}

/**
 * Which write of the file this is: inode and modification time in nanoseconds (a rename keeps
 * both). An inode number alone is reused once the replaced file is gone; with the time it is not.
 */
function fileVersion(stat: BigIntStats): string {
  return `${stat.ino}:${stat.mtimeNs}`;
}

/** One opened state file: the decrypted state in memory, the derived key to write it back. */
export class SecureElementFile<T> {
  readonly path: string;
  readonly #key: Buffer;
  readonly #kdf: Envelope['kdf'];
  readonly #codec: StateCodec<T>;
  #state: T;
  /** The file this process last read or wrote (see fileVersion): another process's write replaces it. */
  #version: string | undefined;

  private constructor(path: string, key: Buffer, kdf: Envelope['kdf'], codec: StateCodec<T>, state: T, version: string | undefined) {
    this.path = path;
    this.#key = key;
    this.#kdf = kdf;
    this.#codec = codec;
    this.#state = state;
    this.#version = version;
  }

  /** Makes a new state file; refuses to overwrite one (a phone's keys are never silently replaced). */
  static async create<T>(path: string, passphrase: string, state: T, cost: ScryptParameters = scryptDefaults, codec: StateCodec<T> = asIs): Promise<SecureElementFile<T>> {
    checkPassphrase(passphrase);
    assert.equal(scryptCostProblem(cost), undefined, 'scrypt cost within scryptLimits (a file this mipay could not open again)');
    if (exists(path)) throw new SecureElementError('already_exists', `${path} already holds a phone; choose another file or delete it first.`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const salt = randomBytes(16);
    const key = await deriveKey(passphrase, salt, cost);
    const file = new SecureElementFile(path, key, { name: 'scrypt', n: cost.n, r: cost.r, p: cost.p, salt: salt.toString('base64'), key_length: keyLength }, codec, state, undefined);
    file.save();
    return file;
  }

  /** Opens and decrypts a state file: a wrong passphrase or any altered byte is an error, never a reset. */
  static async open<T>(path: string, passphrase: string, codec: StateCodec<T> = asIs): Promise<SecureElementFile<T>> {
    let raw: Buffer;
    let version: string;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') throw new SecureElementError('not_found', `No phone state file at ${path}: run \`npx mipay phone create\` first.`);
      throw error;
    }
    try {
      const stat = fstatSync(fd, { bigint: true });
      if (stat.size > BigInt(stateFileBytesMax)) throw new SecureElementError('malformed', `${path} is larger than a phone state file can be.`);
      version = fileVersion(stat);
      raw = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
    const envelope = parseEnvelope(path, raw);
    const salt = Buffer.from(envelope.kdf.salt, 'base64');
    const key = await deriveKey(passphrase, salt, envelope.kdf);
    const check = Buffer.from(envelope.key_check, 'base64');
    const expected = keyCheck(key);
    if (check.length !== expected.length || !timingSafeEqual(check, expected)) {
      throw new SecureElementError('wrong_passphrase', `Wrong passphrase for ${path} (or its header was altered).`);
    }
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.cipher.iv, 'base64'));
      decipher.setAAD(associatedData(envelope));
      decipher.setAuthTag(Buffer.from(envelope.cipher.tag, 'base64'));
      plaintext = Buffer.concat([decipher.update(Buffer.from(envelope.ciphertext, 'base64')), decipher.final()]);
    } catch {
      throw new SecureElementError('tampered', `${path} was altered or damaged: its contents fail authentication. Restore it from a backup.`);
    }
    return new SecureElementFile<T>(path, key, envelope.kdf, codec, decodeContents(path, plaintext, codec), version);
  }

  get state(): T {
    return this.#state;
  }

  /** Replaces the state and writes it (synchronously: the payment applet persists before it answers). */
  update(next: T): void {
    const previous = this.#state;
    this.#state = next;
    try {
      this.save();
    } catch (error) {
      this.#state = previous;
      throw error;
    }
  }

  /**
   * Encrypts the current state under a fresh IV and writes it atomically. Refuses when another
   * process replaced the file since this one read it: writing over it could bring back a
   * limited-use key that process already spent (an ATC used twice).
   */
  save(): void {
    if (this.#version !== undefined && currentVersion(this.path) !== this.#version) {
      throw new SecureElementError('changed_by_another_process', `${this.path} was changed by another process since it was opened; open it again.`);
    }
    const header = { format: STATE_FILE_FORMAT, version: STATE_FILE_VERSION, kdf: this.#kdf, key_check: keyCheck(this.#key).toString('base64') };
    const iv = randomBytes(ivLength);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(associatedData(header));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(this.#codec.encode(this.#state)), 'utf8'), cipher.final()]);
    const envelope: Envelope = { ...header, cipher: { name: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') }, ciphertext: ciphertext.toString('base64') };
    this.#version = writeFileAtomically(this.path, Buffer.from(`${JSON.stringify(envelope, null, 1)}\n`)).version;
  }
}

function currentVersion(path: string): string | undefined {
  try {
    return fileVersion(statSync(path, { bigint: true }));
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Which scrypt parameter is out of bounds (see scryptLimits), or undefined when all are within. */
export function scryptCostProblem(cost: { n: unknown; r: unknown; p: unknown }): string | undefined {
  const { n, r, p } = cost;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > scryptLimits.nMax || (n & (n - 1)) !== 0) return 'kdf.n';
  if (typeof r !== 'number' || typeof p !== 'number' || !Number.isInteger(r) || r < 1 || r > scryptLimits.rMax || !Number.isInteger(p) || p < 1 || p > scryptLimits.pMax) {
    return 'kdf.r/p';
  }
  if (128 * n * r > scryptLimits.memoryBytesMax || 128 * n * r * p > scryptLimits.workBytesMax) return 'kdf cost';
  return undefined;
}

/** The decrypted contents of a state file, through its codec; throws SecureElementError ('malformed', 'unsupported_version'). */
export function decodeContents<T>(path: string, plaintext: Buffer, codec: StateCodec<T>): T {
  let contents: unknown;
  try {
    contents = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new SecureElementError('malformed', `${path} holds no readable state.`);
  }
  return codec.decode(contents);
}

/** A state file's envelope (format, KDF and its cost, cipher); throws SecureElementError for anything else. */
export function parseEnvelope(path: string, raw: Buffer): Envelope {
  const malformed = (what: string) => new SecureElementError('malformed', `${path} is not a phone state file (${what}).`);
  let value: any;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw malformed('not JSON');
  }
  if (typeof value !== 'object' || value === null || value.format !== STATE_FILE_FORMAT) throw malformed('format');
  if (value.version !== STATE_FILE_VERSION) {
    throw new SecureElementError('unsupported_version', `${path} is a version ${String(value.version)} state file; this mipay reads version ${STATE_FILE_VERSION}.`);
  }
  const kdf = value.kdf;
  if (kdf?.name !== 'scrypt' || kdf.key_length !== keyLength) throw malformed('kdf');
  const costProblem = scryptCostProblem(kdf);
  if (costProblem) throw malformed(costProblem);
  if (value.cipher?.name !== 'aes-256-gcm') throw malformed('cipher');
  for (const [field, text] of [['kdf.salt', kdf.salt], ['key_check', value.key_check], ['cipher.iv', value.cipher.iv], ['cipher.tag', value.cipher.tag], ['ciphertext', value.ciphertext]] as const) {
    if (typeof text !== 'string' || !base64.test(text)) throw malformed(field);
  }
  if (Buffer.from(value.cipher.iv, 'base64').length !== ivLength || Buffer.from(value.cipher.tag, 'base64').length !== 16) throw malformed('cipher.iv/tag');
  return value as Envelope;
}
