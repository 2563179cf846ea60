// Issue 10 "Show": a copy of the database opens nothing. After a whole journey — sign-up, a
// payment account with its AML data, a device card, a tap at a POS, a card PIN, an SMS code
// still outstanding — every table of every schema is dumped, every 16/24/32-byte value found in
// it is tried as a KEK and as a data key against every sealed value, as a PVK against the PIN
// offsets and as the pepper of the outstanding code. None opens or tests anything; the keyring's
// own keys, as a control, open all of them. Runs on PGlite and on PostgreSQL (MIPAY_TEST_DB).
import assert from 'node:assert/strict';
import { createDecipheriv, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { IssuerKeyStore, pinMatches } from '../bank/party.ts';
import { openFileKeyring, type Keyring } from '../infra/keys/keyring.ts';
import { storedCardNumbers } from '../network/card-number-scan.ts';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { MiPhone } from '../phone/phone.ts';
import { ibm3624OffsetMatches, IBM_3624_DECIMALIZATION_TABLE } from '../protocols/crypto/index.ts';
import { PosTerminal } from '../terminal/party.ts';
import { apiClient, latestSmsCode, newPhone, openPaymentAccount, startTestSystem, type TestSystem } from './test-system.ts';

type Row = Record<string, unknown>;

/** Every row of every table of every non-system schema. */
async function dumpEverything(system: TestSystem): Promise<Map<string, Row[]>> {
  const tables = await sql<{ table_schema: string; table_name: string }>`select table_schema, table_name from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'pg_%'`
    .execute(system.database.root);
  const dump = new Map<string, Row[]>();
  for (const { table_schema: schema, table_name: table } of tables.rows) {
    dump.set(`${schema}.${table}`, (await sql<Row>`select * from ${sql.table(`${schema}.${table}`)}`.execute(system.database.root)).rows);
  }
  return dump;
}

/** Every byte string an attacker could read out of one value: raw bytes, hex, base64, and the parts of joined strings. */
function byteStringsIn(value: unknown, out: Buffer[]): void {
  if (value === null || value === undefined) return;
  if (value instanceof Uint8Array) {
    out.push(Buffer.from(value));
    return;
  }
  if (value instanceof Date || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return;
  if (typeof value === 'object') {
    for (const inner of Object.values(value as object)) byteStringsIn(inner, out);
    return;
  }
  const text = String(value);
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') byteStringsIn(parsed, out);
  } catch {
    // Not JSON: read as text below.
  }
  for (const part of new Set([text, ...text.split(/[^A-Za-z0-9+/=_-]+/)])) {
    if (part.length < 16) continue;
    if (/^(?:[0-9a-fA-F]{2})+$/.test(part)) out.push(Buffer.from(part, 'hex'));
    if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(part)) out.push(Buffer.from(part, part.includes('-') || part.includes('_') ? 'base64url' : 'base64'));
    out.push(Buffer.from(part, 'utf8'));
  }
}

/** Every 16, 24 and 32-byte value in the dump: each decoded byte string whole and every window of it. */
function candidateKeys(dump: Map<string, Row[]>): Buffer[] {
  const strings: Buffer[] = [];
  for (const rows of dump.values()) for (const row of rows) for (const value of Object.values(row)) byteStringsIn(value, strings);
  const seen = new Set<string>();
  const keys: Buffer[] = [];
  for (const bytes of strings) {
    for (const length of [16, 24, 32]) {
      for (let start = 0; start + length <= Math.min(bytes.length, 4096); start++) {
        const key = bytes.subarray(start, start + length);
        const id = key.toString('hex');
        if (!seen.has(id)) {
          seen.add(id);
          keys.push(Buffer.from(key));
        }
      }
    }
  }
  return keys;
}

/** AES-GCM open of `iv ‖ tag ‖ ciphertext` with a 16, 24 or 32-byte key (sealing.ts's layout); undefined when it does not open. */
function tryOpen(key: Buffer, sealed: Buffer, aad: string): Buffer | undefined {
  try {
    const decipher = createDecipheriv(`aes-${key.length * 8}-gcm` as 'aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  } catch {
    return undefined;
  }
}

interface SealedValue { wrapped: Buffer; wrapAad: string; payload: Buffer; payloadAad: string; kekName: string; kekId: string }

function sealedValuesIn(dump: Map<string, Row[]>): SealedValue[] {
  const out: SealedValue[] = [];
  for (const row of dump.get('tsp.token_vault') ?? []) {
    const id = String(row.token_ref_id);
    out.push({
      wrapped: Buffer.from(String(row.wrapped_data_key), 'base64'), wrapAad: `dek:${id}`, kekName: 'tsp.kek', kekId: String(row.kek_id),
      payload: Buffer.from(String(row.pan_ciphertext), 'base64'), payloadAad: `pan:${id}`,
    });
  }
  for (const row of dump.get('platform.payment_accounts') ?? []) {
    for (const field of ['id_number', 'aml_id_photo', 'aml_address']) {
      const sealed = row[`${field}_sealed`];
      if (typeof sealed !== 'string') continue;
      const [, kekId, wrapped, payload] = sealed.split(':');
      out.push({
        wrapped: Buffer.from(wrapped!, 'base64'), wrapAad: `dek:payment_accounts:${row.id}:${field}`, kekName: 'platform.personal-data-kek',
        kekId: kekId!, payload: Buffer.from(payload!, 'base64'), payloadAad: `payment_accounts:${row.id}:${field}`,
      });
    }
  }
  return out;
}

describe('a copy of the database opens nothing', () => {
  let system: TestSystem;
  let keyring: Keyring;
  let network: NetworkClient;
  let dir: string;
  const longPin = '802461357913';
  let holderCard = '';
  let outstanding = { phone: '', code: '' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mipay-dump-'));
    keyring = openFileKeyring(join(dir, 'keyring.json'), { create: true });
    system = await startTestSystem({ keyring });
    const platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    const api = apiClient(system.platform.app);
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '郑十', birthDate: '1988-08-08', balanceFen: 500_000 });
    holderCard = holder.cardNumber;
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, 1)]).toString('base64');
    const aml = await api('PUT', '/v1/payment-account/aml', { token: holder.token, body: {
      gender: 'male', occupation: '工程师', nationality: 'CHN', id_type: 'resident_id', id_expiry: 'long_term',
      id_photo: { content_type: 'image/png', data_base64: png }, address: '上海市浦东新区世纪大道1号',
    } });
    assert.equal(aml.status, 200, JSON.stringify(aml.body));
    // The card's PIN, set at the bank as a branch would: the bank keeps only its offset.
    await system.bankAuthorization.personalizer.setPin(holder.cardNumber, longPin);
    const phone = await MiPhone.create({
      path: join(dir, 'phone.se'), passphrase: 'phone passphrase 1', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: { n: 2 ** 10, r: 8, p: 1 },
    });
    await phone.logIn({ accountPhone: holder.phone, password: 'correct-horse-9' });
    system.clock.advance(7 * 60_000);
    const card = await phone.addCard({ card: holder.cardId, finger: 'right-thumb', smsCode: () => latestSmsCode(system.platform.app, holder.reservedPhone) });
    const address = system.network.server.address()!;
    network = createTcpNetworkClient({ host: address.host, port: address.port });
    const terminal = await system.network.registerTerminal({ terminalId: 'POSDUMP1', merchantId: '898110000000099', merchantName: 'DUMP TEST', mcc: '5732' });
    const pos = new PosTerminal({ ...terminal, network, networkTimeoutMs: 10_000, clock: system.clock.now });
    phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
    const sale = await pos.charge({ amountFen: 2_000n, card: phone.paymentApplet() });
    assert.equal(sale.approved, true);
    // A sign-up code sent and not yet used.
    outstanding.phone = newPhone();
    assert.equal((await api('POST', '/v1/sms-codes', { body: { phone: outstanding.phone, purpose: 'sign_up' } })).status, 202);
    outstanding.code = await latestSmsCode(system.platform.app, outstanding.phone);
  });
  after(async () => {
    await network?.close();
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no 16/24/32-byte value in the dump opens a sealed value, as a KEK or as a data key; the keyring\'s keys do', async () => {
    const dump = await dumpEverything(system);
    assert.ok(dump.size > 30, `every party's tables are dumped (${[...dump.keys()].join(', ')})`);
    const sealed = sealedValuesIn(dump);
    assert.ok(sealed.length >= 4, 'the vault row and the three sealed personal-data values are in the dump');
    const candidates = candidateKeys(dump);
    assert.ok(candidates.length > 1000, `${candidates.length} candidate keys`);
    for (const value of sealed) {
      const kek = keyring.keks(value.kekName).byId(value.kekId)!;
      const dataKey = tryOpen(kek, value.wrapped, value.wrapAad);
      assert.ok(dataKey && tryOpen(dataKey, value.payload, value.payloadAad), 'control: the keyring opens it');
      assert.ok(!candidates.some((c) => c.equals(kek) || c.equals(dataKey)), 'neither its KEK nor its data key is in the dump');
      for (const candidate of candidates) {
        assert.equal(tryOpen(candidate, value.wrapped, value.wrapAad), undefined);
        assert.equal(tryOpen(candidate, value.payload, value.payloadAad), undefined);
      }
    }
  });

  test('no value in the dump tests a PIN against its offset, nor the outstanding SMS code against its hash', async () => {
    const dump = await dumpEverything(system);
    const candidates = candidateKeys(dump);
    const state = dump.get('bank.card_authorization_state')!.find((row) => row.pan === holderCard)!;
    const [format, offset] = String(state.pin_verification_value).split(':');
    assert.equal(format, '3624');
    assert.equal(offset!.length, longPin.length);
    const keys = await new IssuerKeyStore(keyring).keysFor('CMB');
    assert.equal(pinMatches(keys, holderCard, longPin, String(state.pin_verification_value)), true, 'control: the PVK tests it');
    const parameters = (pvk: Buffer) => ({ pvk, validationData: holderCard.slice(-13, -1), pad: 'F', decimalizationTable: IBM_3624_DECIMALIZATION_TABLE });
    for (const candidate of candidates.filter((c) => c.length !== 32)) {
      assert.equal(ibm3624OffsetMatches(parameters(candidate), longPin, offset!), false);
    }
    const every = [...dump.values()].flat().flatMap((row) => Object.values(row)).map(String);
    assert.ok(!every.some((v) => v.includes(holderCard) && v.length > holderCard.length && v.includes(longPin)), 'the PIN is nowhere');

    const code = dump.get('platform.sms_codes')!.find((row) => row.phone === outstanding.phone)!;
    const hash = (pepper: Buffer) => createHmac('sha256', pepper).update([code.id, code.phone, code.purpose, outstanding.code].join('|')).digest('hex');
    assert.equal(hash(keyring.key('platform.otp-pepper', 32)), code.code_hash, 'control: the pepper tests it');
    for (const candidate of [Buffer.alloc(0), ...candidates]) assert.notEqual(hash(candidate), code.code_hash);
  });

  test('the network schema holds no full card or token number after the device card tap (first 6 + last 4 + keyed hash)', async () => {
    assert.deepEqual(await storedCardNumbers(system.database.root, 'network', [holderCard]), []);
    const rows = await sql<{ n: number }>`select count(*)::int as n from network.transactions where token_hash is not null
      and pan_last4 = ${holderCard.slice(-4)}`.execute(system.database.root);
    assert.equal(rows.rows[0]!.n, 1, 'the tap is logged with the card\'s last 4 and the token\'s hash');
  });

  test('the platform schema names no card number behind a token: no PAN, no token number, no vault, no key of the TSP', async () => {
    const dump = await dumpEverything(system);
    const tokens = dump.get('tsp.tokens') ?? [];
    assert.equal(tokens.length, 1, 'the TSP holds the device card\'s token');
    const tokenNumber = String(tokens[0]!.token_number);
    const platformTables = [...dump.entries()].filter(([name]) => name.startsWith('platform.'));
    assert.ok(platformTables.length > 20, 'every platform table is dumped');
    const platformText = JSON.stringify(platformTables, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
    assert.equal(platformText.includes(holderCard), false, 'no PAN in the platform schema');
    assert.equal(platformText.includes(tokenNumber), false, 'no full token number in the platform schema');
    // The token → PAN map and everything that leads to it live in the TSP's schema alone.
    const columns = await sql<{ table_schema: string; table_name: string; column_name: string }>`select table_schema, table_name, column_name
      from information_schema.columns where column_name in ('pan_ciphertext', 'wrapped_data_key', 'pan_fingerprint', 'token_number', 'next_atc')
      and table_schema in ('platform', 'tsp')`.execute(system.database.root);
    assert.deepEqual([...new Set(columns.rows.map((c) => c.table_schema))], ['tsp']);
    assert.equal(dump.has('platform.token_vault') || dump.has('platform.luk_batches') || dump.has('platform.token_atc_uses'), false);
    // What the platform keeps of the device card: the TSP's reference, last 4s, bank, product, status.
    const deviceCard = dump.get('platform.device_cards')![0]!;
    assert.equal(deviceCard.token_ref_id, tokens[0]!.token_ref_id);
    assert.equal(deviceCard.token_last4, tokenNumber.slice(-4));
    assert.match(String(deviceCard.token_masked), /^62999[0-9]\*+[0-9]{4}$/);
    // No key of the platform's opens the vault: it is sealed under `tsp.kek`, which the platform is never given.
    const vault = sealedValuesIn(dump).find((v) => v.kekName === 'tsp.kek')!;
    const personalDataKek = keyring.keks('platform.personal-data-kek').current().key;
    for (const key of [personalDataKek, keyring.key('platform.otp-pepper', 32), keyring.key('platform.payment-ca', 32)]) {
      assert.equal(tryOpen(key, vault.wrapped, vault.wrapAad), undefined);
    }
  });

  test('the keyring file is mode 0600 and sits outside the database', () => {
    assert.equal(statSync(join(dir, 'keyring.json')).mode & 0o777, 0o600);
  });
});
