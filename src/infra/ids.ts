import { randomBytes } from 'node:crypto';

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A prefixed, time-ordered identifier (`usr_01JD…`): 48 bits of milliseconds then 80 random
 * bits in Crockford base32, like a ULID. Ids of one kind sort by creation time, which is what
 * cursor pagination (`starting_after`) relies on.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let ms = now;
  for (let i = 0; i < 10; i++) {
    time = crockford[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  const random = randomBytes(10);
  let bits = 0;
  let value = 0;
  let tail = '';
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      tail += crockford[(value >> bits) & 31];
    }
  }
  return `${prefix}_${time}${tail}`.toLowerCase();
}
