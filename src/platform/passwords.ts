import { hash, verify } from '@node-rs/argon2';

/**
 * Password hashing for login and payment passwords: argon2id with OWASP's minimum parameters
 * (19 MiB memory, 2 passes, 1 lane). The encoded hash carries its parameters, so they can be
 * raised later without breaking stored hashes.
 */
// `algorithm: 2` is Algorithm.Argon2id (a const enum, which isolated modules cannot import).
const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

export function verifyPassword(encodedHash: string, password: string): Promise<boolean> {
  return verify(encodedHash, password);
}
