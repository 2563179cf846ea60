// The e-purse cryptography checked against a second implementation written here straight from
// JR/T 0025.2's formulas over node:crypto, sharing no code with the product (no import of
// ../crypto): key diversification, purchase and load session keys, MAC1, MAC2 and TAC.
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  diversifyCardKey, loadMacs, loadSessionKey, purchaseMacs, purchaseSessionKey, tacSessionKey, TRANSACTION_TYPE,
  type EpurseAlgorithm,
} from './index.ts';

// ---- the second implementation ----
function ecb(name: string, key: Buffer, data: Buffer): Buffer {
  const c = createCipheriv(name, key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}
const tdes = (k16: Buffer, d: Buffer) => ecb('des-ede3-ecb', Buffer.concat([k16, k16.subarray(0, 8)]), d);
const des = (k8: Buffer, d: Buffer) => ecb('des-ede3-ecb', Buffer.concat([k8, k8, k8]), d);
const sm4 = (k: Buffer, d: Buffer) => ecb('sm4-ecb', k, d);
const inv = (b: Buffer) => Buffer.from([...b].map((x) => 255 - x));
const xor = (a: Buffer, b: Buffer) => Buffer.from([...a].map((x, i) => x ^ b[i]!));

function independentDiversify(alg: EpurseAlgorithm, mk: Buffer, cardNumber: string): Buffer {
  const d = Buffer.from(cardNumber.padStart(20, '0').slice(4), 'hex');
  return alg === 'tdes' ? Buffer.concat([tdes(mk, d), tdes(mk, inv(d))]) : sm4(mk, Buffer.concat([d, inv(d)]));
}
function independentSession(alg: EpurseAlgorithm, key: Buffer, input: Buffer): Buffer {
  return alg === 'tdes' ? tdes(key, input) : sm4(key, Buffer.concat([input, inv(input)]));
}
// CBC-MAC, zero IV, 80 then 00 padding always, leftmost 4 bytes; block by block, by hand.
function independentMac(alg: EpurseAlgorithm, key: Buffer, data: Buffer): Buffer {
  const n = alg === 'tdes' ? 8 : 16;
  let padded: Buffer = Buffer.concat([data, Buffer.from([0x80])]);
  while (padded.length % n !== 0) padded = Buffer.concat([padded, Buffer.from([0])]);
  let chain: Buffer = Buffer.alloc(n);
  for (let i = 0; i < padded.length; i += n) {
    const block = xor(chain, padded.subarray(i, i + n));
    chain = alg === 'tdes' ? des(key, block) : sm4(key, block);
  }
  return chain.subarray(0, 4);
}
const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
const u32 = (v: number | bigint) => { const b = Buffer.alloc(4); b.writeUInt32BE(Number(v)); return b; };
const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };

for (const alg of ['tdes', 'sm4'] as const) {
  test(`${alg}: card keys diversified by card number agree with the second implementation`, () => {
    const mk = hex('0123456789ABCDEF FEDCBA9876543210');
    for (const cardNumber of ['3104000012345678', '31040000000000000009', '1000000000000001']) {
      assert.deepEqual(diversifyCardKey(alg, mk, cardNumber), independentDiversify(alg, mk, cardNumber));
    }
    assert.notDeepEqual(diversifyCardKey(alg, mk, '3104000012345678'), diversifyCardKey(alg, mk, '3104000012345679'));
  });

  test(`${alg}: purchase session key, MAC1, MAC2 and TAC agree with the second implementation`, () => {
    for (let i = 0; i < 20; i++) {
      const dpk = randomBytes(16);
      const dtk = randomBytes(16);
      const random = randomBytes(4);
      const terminalId = randomBytes(6);
      const offlineSeq = randomBytes(2).readUInt16BE();
      const terminalSeq = randomBytes(4).readUInt32BE();
      const amountFen = BigInt(randomBytes(3).readUIntBE(0, 3));
      const facts = { amountFen, transactionType: TRANSACTION_TYPE.purchase, terminalId, terminalSeq, date: '20261130', time: '073015' };
      const sk = independentSession(alg, dpk, Buffer.concat([random, u16(offlineSeq), u16(terminalSeq & 0xffff)]));
      assert.deepEqual(purchaseSessionKey(alg, dpk, { random, offlineSeq, terminalSeq }), sk);
      const macs = purchaseMacs(alg, { purchaseKey: dpk, tacKey: dtk }, { random, offlineSeq }, facts);
      const dateTime = hex('20261130073015');
      assert.deepEqual(macs.mac1, independentMac(alg, sk, Buffer.concat([u32(amountFen), Buffer.from([0x06]), terminalId, dateTime])));
      assert.deepEqual(macs.mac2, independentMac(alg, sk, u32(amountFen)));
      const tacKey = alg === 'tdes' ? xor(dtk.subarray(0, 8), dtk.subarray(8)) : dtk;
      assert.deepEqual(tacSessionKey(alg, dtk), tacKey);
      const tacData = Buffer.concat([u32(amountFen), Buffer.from([0x06]), terminalId, u32(terminalSeq), dateTime]);
      assert.deepEqual(macs.tac, independentMac(alg, tacKey, tacData));
    }
  });

  test(`${alg}: load session key, MAC1, MAC2 and TAC agree with the second implementation`, () => {
    for (let i = 0; i < 20; i++) {
      const dlk = randomBytes(16);
      const dtk = randomBytes(16);
      const random = randomBytes(4);
      const terminalId = randomBytes(6);
      const onlineSeq = randomBytes(2).readUInt16BE();
      const balanceFen = BigInt(randomBytes(2).readUInt16BE());
      const amountFen = BigInt(randomBytes(2).readUInt16BE());
      const sk = independentSession(alg, dlk, Buffer.concat([random, u16(onlineSeq), hex('8000')]));
      assert.deepEqual(loadSessionKey(alg, dlk, { random, onlineSeq }), sk);
      const macs = loadMacs(alg, { loadKey: dlk, tacKey: dtk }, { random, onlineSeq, balanceFen },
        { amountFen, terminalId, date: '20261130', time: '080000' });
      const dateTime = hex('20261130080000');
      assert.deepEqual(macs.mac1, independentMac(alg, sk, Buffer.concat([u32(balanceFen), u32(amountFen), Buffer.from([0x02]), terminalId])));
      assert.deepEqual(macs.mac2, independentMac(alg, sk, Buffer.concat([u32(amountFen), Buffer.from([0x02]), terminalId, dateTime])));
      const tacKey = alg === 'tdes' ? xor(dtk.subarray(0, 8), dtk.subarray(8)) : dtk;
      const tacData = Buffer.concat([u32(balanceFen + amountFen), u16(onlineSeq), u32(amountFen), Buffer.from([0x02]), terminalId, dateTime]);
      assert.deepEqual(macs.tac, independentMac(alg, tacKey, tacData));
    }
  });
}

test('single DES under the MAC is the FIPS 81 one: the known DES vector through the second implementation', () => {
  // FIPS 81 appendix B (ECB): key 0123456789ABCDEF, "Now is t" → 3FA40E8A984D4815. This anchors
  // the second implementation's DES to the standard's own example, not to node:crypto alone.
  assert.equal(des(hex('0123456789ABCDEF'), Buffer.from('Now is t')).toString('hex').toUpperCase(), '3FA40E8A984D4815');
});

test('changing any purchase field changes the TAC', () => {
  const keys = { purchaseKey: randomBytes(16), tacKey: randomBytes(16) };
  const base = { amountFen: 200n, transactionType: TRANSACTION_TYPE.purchase, terminalId: hex('000000000001'), terminalSeq: 7, date: '20261130', time: '080000' };
  const tac = purchaseMacs('tdes', keys, { random: hex('01020304'), offlineSeq: 1 }, base).tac;
  for (const change of [{ amountFen: 201n }, { terminalSeq: 8 }, { time: '080001' }, { terminalId: hex('000000000002') }]) {
    assert.notDeepEqual(purchaseMacs('tdes', keys, { random: hex('01020304'), offlineSeq: 1 }, { ...base, ...change }).tac, tac);
  }
});

test('3DES purchase session key and MAC1 agree with a published worked example', () => {
  // A PBOC e-purse purchase worked through by hand in a developer article ("智能卡金融行业应用电子钱包
  // 的消费交易流程", w3help.cc, 2022): purchase key 1122…2211, card random 11223344, offline ATC
  // 0000, terminal transaction number 00000001 → session key 003238ABC57659DD; MAC1 over
  // amount 00001000, type 06, terminal 001122334455, 2012-02-29 13:51:00 → F15CAB75.
  const purchaseKey = Buffer.from('11223344556677888877665544332211', 'hex');
  const sessionKey = purchaseSessionKey('tdes', purchaseKey, { random: Buffer.from('11223344', 'hex'), offlineSeq: 0, terminalSeq: 1 });
  assert.equal(sessionKey.toString('hex'), '003238abc57659dd');
  const macs = purchaseMacs('tdes', { purchaseKey, tacKey: purchaseKey }, { random: Buffer.from('11223344', 'hex'), offlineSeq: 0 }, {
    amountFen: 0x1000n, transactionType: TRANSACTION_TYPE.purchase, terminalId: Buffer.from('001122334455', 'hex'), terminalSeq: 1,
    date: '20120229', time: '135100',
  });
  assert.equal(macs.mac1.toString('hex'), 'f15cab75');
});
