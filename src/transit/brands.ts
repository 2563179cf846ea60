// Transit brands as data (DESIGN section 6): city cards (each its own AID) and T-Union cards
// (JT/T 978, one shared AID, cleared between cities), with their fees, top-up limits, balance
// cap, fares and status. Retired brands cannot be issued and name their replacement; their
// existing cards keep working until the operator blacklists them. Amounts in fen.
// The T-Union AID is the real one; the city AIDs and issuer prefixes are the sandbox's own.
import type { BrandWire, FareModel } from './client.ts';

/** JT/T 978 交通联合 application, shared by every T-Union card. */
export const TUNION_AID = 'A000000632010105';

const metro = (stations: readonly string[], kmApart: number): FareModel['metro'] => ({
  stations: stations.map((name, i) => ({ id: i + 1, name, km: i * kmApart })),
  // A typical Chinese metro table: ¥3 up to 6 km, ¥4 to 12, ¥5 to 22, then ¥1 per 20 km.
  bands: [{ upToKm: 6, fareFen: 300n }, { upToKm: 12, fareFen: 400n }, { upToKm: 22, fareFen: 500n }, { upToKm: 32, fareFen: 600n }],
  maxFareFen: 1000n,
});

type BrandSeed = Omit<BrandWire, 'kind' | 'status' | 'replacement' | 'aid' | 'algorithm' | 'tripSfi' | 'topUpMinFen' | 'topUpMaxFen' | 'balanceCapFen'>
  & Partial<Pick<BrandWire, 'status' | 'replacement' | 'aid' | 'algorithm' | 'tripSfi' | 'topUpMinFen' | 'topUpMaxFen' | 'balanceCapFen'>>;

const defaults = { topUpMinFen: 1_000n, topUpMaxFen: 100_000n, balanceCapFen: 100_000n, algorithm: 'tdes', status: 'active', replacement: null } as const;

const city = (seed: BrandSeed & { aid: string }): BrandWire => ({ ...defaults, tripSfi: 0x1a, ...seed, kind: 'city' });
const tunion = (seed: BrandSeed): BrandWire => ({ ...defaults, tripSfi: 0x17, aid: TUNION_AID, ...seed, kind: 'tunion' });

const shMetro = metro(['莘庄', '外环路', '莲花路', '锦江乐园', '上海南站', '漕宝路', '上海体育馆', '徐家汇', '衡山路', '常熟路', '陕西南路', '人民广场'], 1.6);
const bjMetro = metro(['苹果园', '古城', '八角游乐园', '八宝山', '玉泉路', '五棵松', '万寿路', '公主坟', '军事博物馆', '木樨地', '南礼士路', '复兴门', '西单', '天安门西'], 1.5);
const szMetro = metro(['罗湖', '国贸', '老街', '大剧院', '科学馆', '华强路', '岗厦', '会展中心', '购物公园', '香蜜湖', '车公庙', '竹子林'], 1.4);
const generic = metro(['火车站', '市政府', '体育中心', '大学城', '高新区', '机场'], 3);

/** Every brand the sandbox operators run, by code. */
export const BRANDS: readonly BrandWire[] = [
  city({ code: 'shanghai', name: '上海公共交通卡', aid: 'D15600000501', cardPrefix: '31000000', depositFen: 0n, issueFeeFen: 2_000n, fares: { busFen: 200n, metro: shMetro } }),
  city({ code: 'lingnantong', name: '岭南通', aid: 'D15600000502', cardPrefix: '51000000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic } }),
  city({ code: 'shenzhentong', name: '深圳通', aid: 'D15600000503', cardPrefix: '51800000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: szMetro } }),
  city({ code: 'wuhantong', name: '武汉通', aid: 'D15600000504', cardPrefix: '43000000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic } }),
  city({ code: 'chongqing', name: '重庆畅通卡', aid: 'D15600000505', cardPrefix: '40000000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic } }),
  city({ code: 'hefeitong', name: '合肥通', aid: 'D15600000506', cardPrefix: '23000000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
  city({ code: 'xiamen', name: '厦门e通卡', aid: 'D15600000507', cardPrefix: '36100000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
  city({ code: 'lvchengtong', name: '绿城通', aid: 'D15600000508', cardPrefix: '45000000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
  city({
    code: 'beijing', name: '北京市政交通一卡通', aid: 'D15600000509', cardPrefix: '10000000', depositFen: 2_000n, issueFeeFen: 0n, fares: { busFen: 100n, metro: bjMetro },
    status: 'retired', replacement: { brandCode: 'jjj', note: '京津冀互联互通卡' },
  }),
  city({
    code: 'suzhou-citizen', name: '苏州市民卡', aid: 'D15600000510', cardPrefix: '21500000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic },
    status: 'retired', replacement: { brandCode: 'js-suzhou', note: '江苏交通一卡通·苏州' },
  }),
  city({
    code: 'hangzhoutong', name: '杭州通', aid: 'D15600000511', cardPrefix: '31100000', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic },
    status: 'retired', replacement: { brandCode: null, note: 'pay with a bank card by QuickPass (闪付)' },
  }),
  tunion({ code: 'jjj', name: '京津冀互联互通卡', cardPrefix: '10007510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: bjMetro } }),
  tunion({ code: 'shengjingtong', name: '盛京通', cardPrefix: '11007510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
  tunion({ code: 'js-suzhou', name: '江苏交通一卡通·苏州', cardPrefix: '21507510', depositFen: 0n, issueFeeFen: 0n, algorithm: 'sm4', fares: { busFen: 200n, metro: generic } }),
  tunion({ code: 'js-nantong', name: '江苏交通一卡通·南通', cardPrefix: '22607510', depositFen: 0n, issueFeeFen: 0n, algorithm: 'sm4', fares: { busFen: 200n, metro: generic } }),
  tunion({ code: 'jilintong', name: '吉林通', cardPrefix: '13207510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
  tunion({ code: 'guangxi', name: '广西交通一卡通', cardPrefix: '53007510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
  tunion({ code: 'qindaotong', name: '琴岛通', cardPrefix: '26607510', depositFen: 0n, issueFeeFen: 0n, algorithm: 'sm4', fares: { busFen: 200n, metro: generic } }),
  tunion({ code: 'harbin', name: '哈尔滨城市通', cardPrefix: '15007510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
  tunion({ code: 'taizhou', name: '台州公共交通卡', cardPrefix: '31807510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic } }),
  tunion({ code: 'hainan', name: '海南一卡通', cardPrefix: '57007510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic } }),
  tunion({ code: 'lingnantong-tu', name: '岭南通（交通联合）', cardPrefix: '51007510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 200n, metro: generic } }),
  tunion({ code: 'xiamen-tu', name: '厦门e通卡（交通联合）', cardPrefix: '36107510', depositFen: 0n, issueFeeFen: 0n, fares: { busFen: 100n, metro: generic } }),
];

const byCode = new Map(BRANDS.map((b) => [b.code, b]));

export function brandByCode(code: string): BrandWire | undefined {
  return byCode.get(code);
}

/** The brand whose card numbers start with this card's prefix. */
export function brandOfCard(cardNumber: string): BrandWire | undefined {
  return BRANDS.find((b) => cardNumber.startsWith(b.cardPrefix));
}

/** Metro fare between two stations of a brand's table (distance bands, then the cap). */
export function metroFareFen(model: NonNullable<FareModel['metro']>, entryStation: number, exitStation: number): bigint {
  const a = model.stations.find((s) => s.id === entryStation);
  const b = model.stations.find((s) => s.id === exitStation);
  if (!a || !b) return model.maxFareFen;
  const km = Math.abs(a.km - b.km);
  const band = model.bands.find((x) => km <= x.upToKm);
  return band ? band.fareFen : model.maxFareFen;
}
