import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, totp, totpStep } from './totp.ts';

// RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the hash's block-key length.
const seeds = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
};
const vectors: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

test('TOTP matches every RFC 6238 Appendix B test vector (SHA-1, SHA-256, SHA-512, 8 digits)', () => {
  for (const [seconds, sha1, sha256, sha512] of vectors) {
    const at = new Date(seconds * 1000);
    assert.equal(totp(seeds.sha1, at, { digits: 8, hash: 'sha1' }), sha1, `SHA-1 at ${seconds}`);
    assert.equal(totp(seeds.sha256, at, { digits: 8, hash: 'sha256' }), sha256, `SHA-256 at ${seconds}`);
    assert.equal(totp(seeds.sha512, at, { digits: 8, hash: 'sha512' }), sha512, `SHA-512 at ${seconds}`);
  }
  assert.equal(totpStep(new Date(1111111109_000)), 0x23523ecn);
});

test('HOTP matches RFC 4226 Appendix D (counts 0 to 9, 6 digits)', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  expected.forEach((code, count) => assert.equal(hotp(seeds.sha1, BigInt(count)), code));
});

test('a code is accepted within one step of drift, once, and never for an older step', () => {
  const secret = seeds.sha1;
  const now = new Date(1_800_000_000_000);
  const code = totp(secret, now);
  const step = totpStep(now);
  assert.equal(matchTotp(secret, code, now, null), step);
  assert.equal(matchTotp(secret, code, new Date(now.getTime() + 30_000), null), step, 'the next step still takes it (drift)');
  assert.equal(matchTotp(secret, code, new Date(now.getTime() + 60_000), null), undefined, 'two steps later it is refused');
  assert.equal(matchTotp(secret, code, now, step), undefined, 'used once: refused again');
  assert.equal(matchTotp(secret, totp(secret, new Date(now.getTime() - 30_000)), now, step), undefined, 'an older step after a newer one');
  assert.equal(matchTotp(secret, '12345', now, null), undefined);
  assert.equal(matchTotp(secret, 'abcdef', now, null), undefined);
});

test('base32 (RFC 4648 section 10 vectors) and the otpauth URI', () => {
  for (const [plain, encoded] of [['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']]) {
    assert.equal(base32Encode(Buffer.from(plain!)), encoded);
    assert.equal(base32Decode(`${encoded!.toLowerCase()}==`).toString(), plain);
  }
  assert.throws(() => base32Decode('MZ1'), /not a base32 character/);
  const uri = new URL(otpauthUri(seeds.sha1, 'ops@example.com', 'Mi Pay Open ops'));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.searchParams.get('secret'), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  assert.deepEqual([uri.searchParams.get('digits'), uri.searchParams.get('period'), uri.searchParams.get('algorithm')], ['6', '30', 'SHA1']);
});
