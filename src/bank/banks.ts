/**
 * The sandbox's issuing banks (DESIGN section 6) with the BIN ranges they issue from.
 * `miPay` says which of a bank's cards Mi Pay accepts as device cards: both credit and debit,
 * credit only, or (宁夏银行) every UnionPay card but not its single-brand VISA cards.
 * The BINs are sandbox assignments in the UnionPay 62 range, not the banks' production BINs.
 */
import type { CardBrand, CardKind } from './client.ts';

export type { CardBrand, CardKind } from './client.ts';

export interface BinRange {
  bin: string;
  kind: CardKind;
  brand: CardBrand;
  panLength: 16 | 19;
}

export interface Bank {
  code: string;
  nameZh: string;
  nameEn: string;
  miPay: 'credit_and_debit' | 'credit_only' | 'unionpay_only';
  bins: readonly BinRange[];
  /** The bank's own limits on quick-pay debits (快捷支付限额), per agreement, enforced by the bank. */
  quickPay: QuickPayLimits;
}

/** Per quick-pay agreement: one debit at most `singleFenMax`; debits of one Beijing day at most `dailyFenMax`. */
export interface QuickPayLimits {
  singleFenMax: bigint;
  dailyFenMax: bigint;
}

/**
 * Each sandbox bank's quick-pay limits, as data. Real banks publish such tables (and vary them by
 * card and by how the holder verified); these are sandbox figures of the same order. Banks not
 * listed use `defaultQuickPayLimits`.
 */
export const quickPayLimitsByBank: Readonly<Record<string, QuickPayLimits>> = {
  CCB: { singleFenMax: 5_000_000n, dailyFenMax: 5_000_000n },
  BOCOM: { singleFenMax: 5_000_000n, dailyFenMax: 10_000_000n },
  CMB: { singleFenMax: 10_000_000n, dailyFenMax: 20_000_000n },
  CEB: { singleFenMax: 500_000n, dailyFenMax: 1_000_000n },
  CIB: { singleFenMax: 2_000_000n, dailyFenMax: 5_000_000n },
  BOS: { singleFenMax: 200_000n, dailyFenMax: 500_000n },
};
export const defaultQuickPayLimits: QuickPayLimits = { singleFenMax: 5_000_000n, dailyFenMax: 10_000_000n };

const both = (code: string, nameZh: string, nameEn: string, debitBin: string, creditBin: string): Bank => ({
  code, nameZh, nameEn, miPay: 'credit_and_debit', quickPay: quickPayLimitsByBank[code] ?? defaultQuickPayLimits,
  bins: [
    { bin: debitBin, kind: 'debit', brand: 'unionpay', panLength: 19 },
    { bin: creditBin, kind: 'credit', brand: 'unionpay', panLength: 16 },
  ],
});
const creditOnly = (code: string, nameZh: string, nameEn: string, debitBin: string, creditBin: string): Bank => ({
  ...both(code, nameZh, nameEn, debitBin, creditBin),
  miPay: 'credit_only',
});

export const banks: readonly Bank[] = [
  both('CCB', '建设银行', 'China Construction Bank', '621700', '625362'),
  both('BOCOM', '交通银行', 'Bank of Communications', '622262', '625028'),
  both('CMB', '招商银行', 'China Merchants Bank', '621483', '622575'),
  both('SPDB', '浦发银行', 'Shanghai Pudong Development Bank', '622521', '625957'),
  both('CGB', '广发银行', 'China Guangfa Bank', '622568', '625809'),
  both('CEB', '光大银行', 'China Everbright Bank', '622666', '625977'),
  both('PAB', '平安银行', 'Ping An Bank', '622298', '625360'),
  both('CMBC', '民生银行', 'China Minsheng Bank', '622622', '622617'),
  both('CIB', '兴业银行', 'Industrial Bank', '622909', '625087'),
  both('BOS', '上海银行', 'Bank of Shanghai', '622892', '625958'),
  creditOnly('HXB', '华夏银行', 'Hua Xia Bank', '623021', '625967'),
  creditOnly('BOB', '北京银行', 'Bank of Beijing', '621468', '625816'),
  creditOnly('JSB', '江苏银行', 'Bank of Jiangsu', '622173', '625946'),
  creditOnly('NJCB', '南京银行', 'Bank of Nanjing', '621777', '625821'),
  creditOnly('HSB', '徽商银行', 'Huishang Bank', '622677', '625828'),
  creditOnly('BEA', '东亚银行', 'Bank of East Asia (China)', '622372', '625993'),
  creditOnly('SDEB', '顺德农商行', 'Shunde Rural Commercial Bank', '622322', '625952'),
  creditOnly('LZB', '兰州银行', 'Bank of Lanzhou', '622139', '625825'),
  {
    code: 'NXB', nameZh: '宁夏银行', nameEn: 'Bank of Ningxia', miPay: 'unionpay_only', quickPay: defaultQuickPayLimits,
    bins: [
      { bin: '622178', kind: 'debit', brand: 'unionpay', panLength: 19 },
      { bin: '625976', kind: 'credit', brand: 'unionpay', panLength: 16 },
      // A single-brand VISA credit card: Mi Pay must refuse to tokenize it.
      { bin: '438088', kind: 'credit', brand: 'visa', panLength: 16 },
    ],
  },
];

const byBin = new Map<string, { bank: Bank; range: BinRange }>();
for (const bank of banks) {
  for (const range of bank.bins) {
    if (byBin.has(range.bin)) throw new Error(`BIN ${range.bin} is assigned twice`);
    byBin.set(range.bin, { bank, range });
  }
}
const banksByCode = new Map(banks.map((bank) => [bank.code, bank]));

/** The bank and BIN range a card number belongs to, by its 6-digit issuer identification number. */
export function findBin(pan: string): { bank: Bank; range: BinRange } | undefined {
  return byBin.get(pan.slice(0, 6));
}

export function findBank(code: string): Bank | undefined {
  return banksByCode.get(code);
}
