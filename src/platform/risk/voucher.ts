/**
 * The electronic transaction voucher (电子交易凭证): a PDF of one transaction with the fields the
 * payment rules want on a transaction record (type, amount, time, channel and interface, payer
 * and payee with their accounts, merchant name, code and MCC, authorization, trace id), in
 * Chinese and English, and a detached ECDSA P-256 / SHA-256 signature over the PDF's bytes by
 * the platform's voucher key. Anyone with the public key (`GET /v1/vouchers/public-key`) can
 * check it: `mipay voucher verify`, `POST /v1/vouchers/verify`, or `openssl dgst -sha256 -verify`.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import fontkit from '@pdf-lib/fontkit';
import { PDFDocument, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import type { Keyring } from '../../infra/keys/keyring.ts';
import { fontBytes, fontRuns } from './cjk-font.ts';

/** The keyring entry holding the voucher key's 32-byte private scalar. */
export const voucherKeyName = 'platform.voucher-signing';

/** The voucher key (ECDSA P-256) from the keyring: the same key on every start, never in the database. */
export function voucherKeyFrom(keyring: Pick<Keyring, 'key'>): KeyObject {
  const scalar = keyring.key(voucherKeyName, 32);
  // SEC 1 ECPrivateKey { version 1, privateKey, [0] prime256v1 }; Node derives the public point.
  const der = Buffer.concat([Buffer.from('30310201010420', 'hex'), scalar, Buffer.from('a00a06082a8648ce3d030107', 'hex')]);
  return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
}

export function assertVoucherKey(key: KeyObject): void {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the voucher key must be an ECDSA P-256 private key');
  }
}

/** The public half, as PEM (SPKI), for anyone who checks a voucher. */
export function voucherPublicKeyPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

/** A detached signature (DER, base64) over the PDF bytes. */
export function signVoucher(key: KeyObject, pdf: Uint8Array): string {
  return sign('sha256', pdf, key).toString('base64');
}

/** Whether `signature` (DER, base64) is the voucher key's over exactly these bytes. */
export function verifyVoucher(publicKeyPem: string, pdf: Uint8Array, signature: string): boolean {
  try {
    return verify('sha256', pdf, createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The transaction fields a voucher shows. */
export interface VoucherTransaction {
  id: string;
  type: string;
  status: string;
  amountFen: bigint;
  currency: string;
  channel: string;
  interfaceType: string;
  payer: { name: string; account: string };
  payee: { name: string; account: string };
  merchant: { name: string; code: string; mcc: string } | null;
  authorization: { method: string; factors: number; reference: string | null };
  purpose: string | null;
  traceId: string;
  createdAt: Date;
  completedAt: Date | null;
}

const typeNames: Record<string, string> = { top_up: '充值 top-up', withdrawal: '提现 withdrawal', transfer: '转账 transfer', payment: '消费 payment', refund: '退款 refund' };
const statusNames: Record<string, string> = { succeeded: '成功 succeeded', pending: '处理中 pending', failed: '失败 failed' };

function beijingTime(at: Date | null): string {
  if (!at) return '—';
  return `${new Date(at.getTime() + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19)} (北京时间 UTC+8)`;
}

function yuan(fen: bigint): string {
  return `¥${(fen / 100n).toLocaleString('en-US')}.${String(fen % 100n).padStart(2, '0')}`;
}

/** The voucher's rows: label and value. */
export function voucherRows(t: VoucherTransaction, voucher: { id: string; issuedAt: Date }): Array<[string, string]> {
  return [
    ['凭证编号 Voucher no.', voucher.id],
    ['出具时间 Issued at', beijingTime(voucher.issuedAt)],
    ['交易单号 Transaction id', t.id],
    ['交易类型 Type', typeNames[t.type] ?? t.type],
    ['交易状态 Status', statusNames[t.status] ?? t.status],
    ['交易金额 Amount', `${yuan(t.amountFen)} ${t.currency}`],
    ['交易时间 Time', beijingTime(t.createdAt)],
    ['完成时间 Completed', beijingTime(t.completedAt)],
    ['交易渠道 Channel', t.channel === 'balance' ? '余额 balance' : '快捷支付 quick pay'],
    ['接口类型 Interface', t.interfaceType],
    ['付款方 Payer', t.payer.name],
    ['付款账户 Payer account', t.payer.account],
    ['收款方 Payee', t.payee.name],
    ['收款账户 Payee account', t.payee.account],
    ['商户名称 Merchant', t.merchant?.name ?? '—'],
    ['商户编号 Merchant code', t.merchant?.code ?? '—'],
    ['商户类别码 MCC', t.merchant?.mcc ?? '—'],
    ['验证方式 Authorization', `${t.authorization.method || '—'} (${t.authorization.factors})`],
    ['授权信息 Authorization ref.', t.authorization.reference ?? '—'],
    ['用途 Purpose', t.purpose ?? '—'],
    ['追踪号 Trace id', t.traceId],
  ];
}

/** Draws `text` at (x, y) in as many font slices as it needs; answers the width drawn. */
function drawText(page: PDFPage, fonts: Map<string, PDFFont>, text: string, x: number, y: number, size: number): number {
  let at = x;
  for (const run of fontRuns(text)) {
    const font = fonts.get(run.file)!;
    page.drawText(run.text, { x: at, y, size, font, color: rgb(0.1, 0.1, 0.1) });
    at += font.widthOfTextAtSize(run.text, size);
  }
  return at - x;
}

/** The voucher PDF of one transaction. */
export async function renderVoucher(t: VoucherTransaction, voucher: { id: string; issuedAt: Date }): Promise<Uint8Array> {
  const title = '小米支付 电子交易凭证';
  const subtitle = 'Mi Pay Open — Electronic transaction voucher';
  const rows = voucherRows(t, voucher);
  const footer = [
    '本凭证由平台以 ECDSA P-256 (SHA-256) 私钥对 PDF 全部字节签名，签名单独提供；',
    '任何人可用平台公钥 (GET /v1/vouchers/public-key) 验证：mipay voucher verify 或 POST /v1/vouchers/verify。',
    'Signed over every byte of this PDF; the detached signature verifies with the platform\'s public key.',
  ];
  const pdf = await PDFDocument.create();
  pdf.registerFontkit(fontkit);
  pdf.setTitle(`电子交易凭证 ${t.id}`);
  pdf.setProducer('Mi Pay Open');
  pdf.setCreator('Mi Pay Open');
  pdf.setCreationDate(voucher.issuedAt);
  pdf.setModificationDate(voucher.issuedAt);
  const fonts = new Map<string, PDFFont>();
  for (const text of [title, subtitle, ...rows.flat(), ...footer]) {
    for (const run of fontRuns(text)) {
      if (!fonts.has(run.file)) fonts.set(run.file, await pdf.embedFont(fontBytes(run.file), { subset: true }));
    }
  }
  const page = pdf.addPage([595.28, 841.89]); // A4
  let y = 780;
  drawText(page, fonts, title, 50, y, 20);
  y -= 22;
  drawText(page, fonts, subtitle, 50, y, 10);
  y -= 14;
  page.drawLine({ start: { x: 50, y }, end: { x: 545, y }, thickness: 0.8, color: rgb(0.6, 0.6, 0.6) });
  y -= 22;
  for (const [label, value] of rows) {
    drawText(page, fonts, label, 50, y, 10);
    drawText(page, fonts, value.slice(0, 60), 230, y, 10);
    y -= 20;
  }
  y -= 10;
  for (const line of footer) {
    drawText(page, fonts, line, 50, y, 8);
    y -= 13;
  }
  return pdf.save({ useObjectStreams: false });
}
