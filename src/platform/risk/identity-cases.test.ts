import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { readImageHeader } from './images.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyVoucherFiles } from '../../cli/voucher-command.ts';
import { verifyVoucher } from './voucher.ts';

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/** A real PNG (grey, 8-bit) of `width` × `height` pixels with a pattern `seed` varies. */
function png(width: number, height: number, seed = 1): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8);
  const rows = Buffer.alloc((width + 1) * height);
  for (let i = 0; i < rows.length; i++) rows[i] = i % (width + 1) === 0 ? 0 : (i * seed) & 0xff;
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** The header of a baseline JPEG (SOI, APP0 JFIF, SOF0) of `width` × `height`. */
function jpegHeader(width: number, height: number): Buffer {
  const app0 = Buffer.from('ffe000104a46494600010100000100010000', 'hex');
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return Buffer.concat([Buffer.from('ffd8', 'hex'), app0, sof, Buffer.from('ffd9', 'hex')]);
}

const documents = () => ({
  id_front: png(640, 400, 3).toString('base64'), id_back: png(640, 400, 5).toString('base64'), holding_id: png(480, 640, 7).toString('base64'),
});

describe('identity proof: password recovery, report lost and unfreeze, vouchers, through the review queue', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(async () => system.close());

  const device = (id: string) => ({ 'mipay-device-id': id, 'mipay-device-model': 'Mi 9', 'mipay-network-type': 'wifi' });
  const recoveryCode = async (phone: string) => {
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/password-recoveries/codes', { body: { phone } })).status, 202);
    return latestSmsCode(system.platform.app, phone);
  };

  test('photos are checked by their bytes: type, size and dimensions', () => {
    assert.deepEqual(readImageHeader(png(640, 400)), { mediaType: 'image/png', width: 640, height: 400 });
    assert.deepEqual(readImageHeader(jpegHeader(1024, 768)), { mediaType: 'image/jpeg', width: 1024, height: 768 });
    assert.equal(readImageHeader(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')), undefined);
    assert.equal(readImageHeader(Buffer.from('89504e470d0a1a0a0000', 'hex')), undefined);
  });

  test('password recovery: at once from the usual phone; from a new phone only with ID photos and a reviewer\'s approval', async () => {
    const h = await openPaymentAccount(system, { name: '陈一', birthDate: '1990-01-02' });
    // The home phone is known from a top-up made on it.
    const topUp = await api('POST', '/v1/top-ups', {
      token: h.token, headers: { 'idempotency-key': randomUUID(), ...device('home-phone') }, body: { card_id: h.cardId, amount_fen: 1_000, payment_password: '135790' },
    });
    assert.equal(topUp.status, 201);

    const atHome = await api('POST', '/v1/password-recoveries', {
      headers: device('home-phone'), body: { phone: h.phone, sms_code: await recoveryCode(h.phone), id_number: h.idNumber, new_password: 'new-horse-10' },
    });
    assert.deepEqual([atHome.status, atHome.body.status], [200, 'completed']);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone: h.phone, password: 'new-horse-10' } })).status, 201);
    // Every session was revoked.
    assert.equal((await api('GET', '/v1/account', { token: h.token })).status, 401);

    // A wrong ID number fails without saying which part was wrong, and changes nothing.
    const wrongId = await api('POST', '/v1/password-recoveries', {
      headers: device('home-phone'), body: { phone: h.phone, sms_code: await recoveryCode(h.phone), id_number: '110101199001020000', new_password: 'evil-horse-11' },
    });
    assert.equal(wrongId.body.error.code, 'password_recovery_failed');

    const fromNewPhone = { phone: h.phone, id_number: h.idNumber, new_password: 'thief-horse-12' };
    const noPhotos = await api('POST', '/v1/password-recoveries', { headers: device('other-phone'), body: { ...fromNewPhone, sms_code: await recoveryCode(h.phone) } });
    assert.deepEqual([noPhotos.status, noPhotos.body.error.code, noPhotos.body.error.param], [403, 'risk_review_required', 'documents']);
    const badPhoto = await api('POST', '/v1/password-recoveries', {
      headers: device('other-phone'),
      body: { ...fromNewPhone, sms_code: await recoveryCode(h.phone), documents: { ...documents(), id_back: png(120, 80).toString('base64') } },
    });
    assert.deepEqual([badPhoto.status, badPhoto.body.error.code, badPhoto.body.error.param], [400, 'identity_image_invalid', 'documents.id_back']);
    const gif = await api('POST', '/v1/password-recoveries', {
      headers: device('other-phone'),
      body: { ...fromNewPhone, sms_code: '123456', documents: { ...documents(), id_front: Buffer.from('GIF89a-not-a-photo').toString('base64') } },
    });
    assert.deepEqual([gif.body.error.code, gif.body.error.param], ['identity_image_invalid', 'documents.id_front']);

    const sent = documents();
    const withPhotos = await api('POST', '/v1/password-recoveries', {
      headers: device('other-phone'), body: { ...fromNewPhone, new_password: 'right-horse-13', sms_code: await recoveryCode(h.phone), documents: sent },
    });
    assert.deepEqual([withPhotos.status, withPhotos.body.status], [202, 'pending_review'], JSON.stringify(withPhotos.body));
    const caseId = withPhotos.body.case_id as string;
    // Not changed yet.
    assert.equal((await api('POST', '/v1/sessions', { body: { phone: h.phone, password: 'right-horse-13' } })).status, 401);

    const cases = system.platform.identityCases;
    const queued = (await cases.queue()).find((c) => c.id === caseId);
    assert.ok(queued);
    assert.match(queued.why, /recovery_new_device/);
    // Sealed at rest: the stored value is not the photo, and opens to exactly it.
    const row = await system.database.forSchema<any>('platform').selectFrom('identity_documents').selectAll().where('case_id', '=', caseId)
      .where('kind', '=', 'id_front').executeTakeFirstOrThrow();
    assert.ok(!row.sealed.includes(sent.id_front.slice(0, 40)));
    assert.deepEqual((await cases.document(caseId, 'id_front')).bytes, Buffer.from(sent.id_front, 'base64'));

    const approved = await cases.approve(caseId, 'staff_reviewer_1', 'ID photos match the holder');
    assert.equal(approved.case.status, 'approved');
    await assert.rejects(cases.approve(caseId, 'staff_reviewer_1', 'again'), { code: 'identity_case_decided' });
    assert.equal((await api('POST', '/v1/sessions', { body: { phone: h.phone, password: 'right-horse-13' } })).status, 201);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone: h.phone, password: 'new-horse-10' } })).status, 401);

    // The photos go after the retention; the case and its decision stay.
    system.clock.advance(181 * 86_400_000);
    assert.ok((await cases.deleteExpiredDocuments()) >= 3);
    await assert.rejects(cases.document(caseId, 'id_front'), { code: 'not_found' });
    const kept = await system.database.forSchema<any>('platform').selectFrom('identity_cases').selectAll().where('id', '=', caseId).executeTakeFirstOrThrow();
    assert.deepEqual([kept.status, kept.decision_reason, kept.request], ['approved', 'ID photos match the holder', '{}']);
  });

  test('report lost freezes at once; a rejected unfreeze keeps it frozen with the reason shown; an approved one unfreezes', async () => {
    const h = await openPaymentAccount(system, { name: '林一', birthDate: '1990-03-04' });
    const lost = await api('POST', '/v1/payment-account/report-lost', { token: h.token, body: { reason: 'lost' } });
    assert.deepEqual([lost.status, lost.body.status], [200, 'frozen']);
    const topUp = await api('POST', '/v1/top-ups', {
      token: h.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: h.cardId, amount_fen: 1_000, payment_password: '135790' },
    });
    assert.equal(topUp.status, 404);
    assert.match(topUp.body.error.message, /frozen/);

    const open = () => api('POST', '/v1/identity-cases', { token: h.token, body: { type: 'unfreeze', documents: documents() } });
    const first = await open();
    assert.deepEqual([first.status, first.body.status], [201, 'pending_review'], JSON.stringify(first.body));
    assert.equal((await open()).body.error.code, 'identity_case_open');
    await system.platform.identityCases.reject(first.body.id, 'staff_reviewer_2', 'The photo holding the ID is blurred; please send a sharper one.');
    const seen = await api('GET', `/v1/identity-cases/${first.body.id}`, { token: h.token });
    assert.deepEqual([seen.body.status, seen.body.decision_reason], ['rejected', 'The photo holding the ID is blurred; please send a sharper one.']);
    assert.equal((await api('GET', '/v1/payment-account', { token: h.token })).body.status, 'frozen');

    const second = await open();
    assert.equal(second.status, 201);
    const done = await system.platform.identityCases.approve(second.body.id, 'staff_reviewer_2', 'matches');
    assert.equal(done.carriedOut, 'payment account unfrozen');
    assert.equal((await api('GET', '/v1/payment-account', { token: h.token })).body.status, 'active');
    assert.equal((await open()).body.error.code, 'account_not_frozen');
  });

  test('a voucher: approved, downloaded, verified with the public key; one changed byte fails', async () => {
    const h = await openPaymentAccount(system, { name: '黄一', birthDate: '1990-05-06' });
    const topUp = await api('POST', '/v1/top-ups', {
      token: h.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: h.cardId, amount_fen: 12_345, payment_password: '135790' },
    });
    assert.equal(topUp.status, 201);
    const foreign = await api('POST', '/v1/identity-cases', { token: h.token, body: { type: 'voucher', transaction_id: 'txn_not_mine', documents: documents() } });
    assert.deepEqual([foreign.status, foreign.body.error.param], [404, 'transaction_id']);
    const asked = await api('POST', '/v1/identity-cases', { token: h.token, body: { type: 'voucher', transaction_id: topUp.body.id, documents: documents() } });
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    await system.platform.identityCases.approve(asked.body.id, 'staff_reviewer_3', 'holder confirmed');
    const seen = await api('GET', `/v1/identity-cases/${asked.body.id}`, { token: h.token });
    assert.ok(seen.body.voucher_id);
    const voucher = await api('GET', `/v1/vouchers/${seen.body.voucher_id}`, { token: h.token });
    assert.equal(voucher.status, 200);
    const pdf = Buffer.from(voucher.body.pdf_base64, 'base64');
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    // The Chinese is drawn with an embedded (subset) CJK font.
    assert.match(pdf.toString('latin1'), /\/FontFile2/);
    assert.match(pdf.toString('latin1'), /NotoSansSC/);

    const key = await api('GET', '/v1/vouchers/public-key');
    assert.ok(verifyVoucher(key.body.public_key_pem, pdf, voucher.body.signature));
    const verified = await api('POST', '/v1/vouchers/verify', { body: { pdf_base64: voucher.body.pdf_base64, signature: voucher.body.signature } });
    assert.deepEqual(verified.body, { valid: true });
    const changed = Buffer.from(pdf);
    const at = Math.floor(changed.length / 2);
    changed[at] = changed[at]! ^ 0x01;
    assert.equal(verifyVoucher(key.body.public_key_pem, changed, voucher.body.signature), false);
    const refused = await api('POST', '/v1/vouchers/verify', { body: { pdf_base64: changed.toString('base64'), signature: voucher.body.signature } });
    assert.deepEqual(refused.body, { valid: false });
    // Offline, as `mipay voucher verify` does it, with the files and the public key alone.
    const dir = mkdtempSync(join(tmpdir(), 'mipay-voucher-'));
    writeFileSync(join(dir, 'v.pdf'), pdf);
    writeFileSync(join(dir, 'changed.pdf'), changed);
    writeFileSync(join(dir, 'v.sig'), voucher.body.signature);
    writeFileSync(join(dir, 'key.pem'), key.body.public_key_pem);
    assert.equal(verifyVoucherFiles(join(dir, 'v.pdf'), join(dir, 'v.sig'), join(dir, 'key.pem')), true);
    assert.equal(verifyVoucherFiles(join(dir, 'changed.pdf'), join(dir, 'v.sig'), join(dir, 'key.pem')), false);
    // Another user cannot fetch it.
    const other = await openPaymentAccount(system, { name: '赵二', birthDate: '1991-05-06' });
    assert.equal((await api('GET', `/v1/vouchers/${seen.body.voucher_id}`, { token: other.token })).status, 404);
  });
});
