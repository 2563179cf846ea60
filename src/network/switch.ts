// The network's switch: takes a terminal's ISO 8583 request, logs it (STAN, RRN, duplicate
// detection), routes it by BIN — to a token service first for device cards — translates the
// PIN block from the terminal's key to the issuer's zone key, forwards it to the issuer and
// answers the terminal. A silent issuer gets a 91 to the terminal and a reversal to the
// issuer, retried until acknowledged (reversals.ts).
import type { Kysely } from 'kysely';
import { ChannelError } from '../bank/client.ts';
import type { Logger } from '../infra/log/logger.ts';
import { CryptoInputError, decryptPinBlock, encryptPinBlock } from '../protocols/crypto/index.ts';
import { binaryField, textField, type Iso8583Message } from '../protocols/iso8583/codec.ts';
import { hasValidMessageMac, withMessageMac } from '../protocols/iso8583/message-mac.ts';
import {
  NETWORK_MANAGEMENT_CODE, parseAmount, parseOriginalData, POS_CONDITION_CODE, PROCESSING_CODE, responseMti,
} from '../protocols/iso8583/spec.ts';
import { cardNumberAtRest, cardNumberHash, tokenAtRest, unsealCardNumber, unsealToken, type CardKeys } from './card-number.ts';
import { isTokenPan, type ArpcInput, type TokenService } from './token-service.ts';
import type { BinRoutingTable, IssuerLink } from './routing.ts';
import type { KnownTerminal, TerminalRegistry } from './terminals.ts';
import { formatWorkingKeys, signOnMacKey } from './working-keys.ts';
import { businessDate, networkStan, retrievalReference, transmissionDateTime, type NetworkTables } from './tables.ts';
import { TransactionLogWriter } from './log-writer.ts';
import type { ReversalWorker } from './reversals.ts';
import { ResponseCode } from '../protocols/iso8583/response-codes.ts';

type Db = Kysely<NetworkTables>;
type Fields = Record<number, string | Buffer | undefined>;
/** What a log row keeps of the card once the request is routed (see card-number.ts). */
type CardColumns = ReturnType<typeof cardNumberAtRest> & ReturnType<typeof tokenAtRest>;

export interface SwitchOptions {
  db: Db;
  logger: Logger;
  terminals: TerminalRegistry;
  routes: BinRoutingTable;
  issuers: ReadonlyMap<string, IssuerLink>;
  tokenService: TokenService;
  reversals: ReversalWorker;
  /** Field 32: the network's acquiring institution id. */
  acquirerId: string;
  /** How long the issuer has to answer before the terminal gets 91 and the issuer a reversal. */
  bankTimeoutMs: number;
  /** Working keys older than this are refused (A0, field 44 KEYS_EXPIRED): the terminal must sign on again. */
  workingKeyLifetimeMs: number;
  /** The keyring's `network.pan-hash` and `network.pan-seal`: the log keeps no full card number. */
  cardKeys: CardKeys;
  clock?: () => Date;
}

/** A sign-on's field 7 must be within this of the network's clock. */
const signOnWindowMs = 5 * 60_000;
const echoedToTerminal = [2, 3, 4, 7, 11, 12, 13, 14, 22, 23, 25, 41, 42, 49];
/** Requests being processed, so a duplicate arriving meanwhile waits for the first answer. */
const inFlightMax = 50_000;

export class NetworkSwitch {
  readonly #o: SwitchOptions;
  readonly #clock: () => Date;
  readonly #inFlight = new Map<string, Promise<Iso8583Message>>();
  readonly #log: TransactionLogWriter;

  constructor(options: SwitchOptions) {
    this.#o = options;
    this.#log = new TransactionLogWriter(options.db);
    this.#clock = options.clock ?? (() => new Date());
  }

  /**
   * Every financial, refund, completion and reversal message must come from a registered
   * terminal (41) of its merchant (42) and carry a MAC (64/128) under that terminal's current
   * TAK; otherwise it is answered 03 or A0 before anything is logged. Answers to authenticated
   * messages carry a MAC under the key the request was verified with.
   */
  async handle(request: Iso8583Message): Promise<Iso8583Message> {
    let macKey: Buffer | undefined;
    try {
      if (request.mti === '0800') return await this.#networkManagement(request);
      if (!['0100', '0200', '0400', '0420'].includes(request.mti)) return answer(request, ResponseCode.INVALID_TRANSACTION);
      const authenticated = await this.#authenticate(request);
      if ('refusal' in authenticated) return authenticated.refusal;
      macKey = authenticated.macKey;
      const reply = request.mti === '0400' || request.mti === '0420'
        ? await this.#terminalReversal(request, authenticated.terminal)
        : await this.#financial(request, authenticated.terminal);
      return withMessageMac(macKey, reply);
    } catch (error) {
      this.#o.logger.error({ err: error, mti: request.mti }, 'switch failed');
      const reply = answer(request, ResponseCode.SYSTEM_MALFUNCTION);
      return macKey ? withMessageMac(macKey, reply) : reply;
    }
  }

  async #authenticate(request: Iso8583Message): Promise<{ terminal: KnownTerminal & { working: NonNullable<KnownTerminal['working']> }; macKey: Buffer } | { refusal: Iso8583Message }> {
    const terminalId = request.fields[41];
    const merchantId = request.fields[42];
    const terminal = typeof terminalId === 'string' ? await this.#o.terminals.find(terminalId) : undefined;
    if (!terminal || terminal.merchantId !== merchantId) return { refusal: answer(request, ResponseCode.INVALID_MERCHANT) };
    const refuse = (reason: string) => {
      this.#o.logger.warn({ terminal: terminal.terminalId, mti: request.mti, reason }, 'message refused: MAC failure');
      return { refusal: answer(request, ResponseCode.MAC_FAILURE, { 44: reason }) };
    };
    const working = terminal.working;
    if (!working) return refuse('SIGN_ON');
    if (this.#clock().getTime() - working.issuedAt.getTime() > this.#o.workingKeyLifetimeMs) return refuse('KEYS_EXPIRED');
    if (!hasValidMessageMac(working.terminalMacKey, request)) return refuse('MAC');
    return { terminal: { ...terminal, working }, macKey: working.terminalMacKey };
  }

  /**
   * 0800: an echo test (field 70 = 301) is answered as it is; a sign-on (001) or key change
   * (101) MACed under the key derived from the terminal's TMK gets fresh working keys under
   * that TMK, and the answer is MACed under the new TAK so the terminal knows where it came from.
   */
  async #networkManagement(request: Iso8583Message): Promise<Iso8583Message> {
    const code = request.fields[70];
    if (code === undefined || code === NETWORK_MANAGEMENT_CODE.ECHO_TEST) {
      return { mti: '0810', fields: { ...request.fields, 64: undefined, 128: undefined, 39: ResponseCode.APPROVED } };
    }
    if (code !== NETWORK_MANAGEMENT_CODE.SIGN_ON && code !== NETWORK_MANAGEMENT_CODE.KEY_CHANGE) return answer(request, ResponseCode.INVALID_TRANSACTION);
    const terminalId = request.fields[41];
    const terminal = typeof terminalId === 'string' ? await this.#o.terminals.find(terminalId) : undefined;
    const tmk = terminal?.terminalMasterKey;
    if (!terminal || !tmk || terminal.merchantId !== request.fields[42]) return answer(request, ResponseCode.INVALID_MERCHANT, { 70: code });
    const refuse = (reason: string) => {
      this.#o.logger.warn({ terminal: terminal.terminalId, reason }, 'sign-on refused');
      return answer(request, ResponseCode.MAC_FAILURE, { 70: code, 44: reason });
    };
    if (!hasValidMessageMac(signOnMacKey(tmk), request)) return refuse('MAC');
    // A captured sign-on sent again: outside the time window (field 7), or a STAN (field 11) not
    // newer than the last accepted sign-on's. Either way refused, and no key changes.
    const now = this.#clock();
    const sentAt = textField(request, 7);
    if (!sentAt || !withinWindow(sentAt, now, signOnWindowMs)) return refuse('STALE');
    const stan = textField(request, 11);
    if (!stan || !/^[0-9]{6}$/.test(stan) || stan === '000000') return refuse('STAN');
    const keys = await this.#o.terminals.issueWorkingKeys(terminal.terminalId, now, stan);
    if (!keys) return refuse('REPLAY');
    this.#o.logger.info({ terminal: terminal.terminalId, code }, 'terminal signed on: new working keys');
    return withMessageMac(keys.terminalMacKey, answer(request, ResponseCode.APPROVED, { 70: code, 62: formatWorkingKeys(tmk, keys) }));
  }

  async #financial(request: Iso8583Message, terminal: KnownTerminal & { working: NonNullable<KnownTerminal['working']> }): Promise<Iso8583Message> {
    const f = (n: number, pattern: RegExp) => {
      const value = request.fields[n];
      return typeof value === 'string' && pattern.test(value) ? value : undefined;
    };
    const processingCode = f(3, /^[0-9]{6}$/);
    // A pre-authorization completion names its authorization (field 61, RRN) instead of reading
    // the card again: the card is the one that authorization was approved for.
    const completion = request.mti === '0200' && processingCode === PROCESSING_CODE.PURCHASE && textField(request, 25) === POS_CONDITION_CODE.PREAUTH_COMPLETION;
    const terminalId = f(41, /^.{8}$/);
    const merchantId = f(42, /^.{15}$/);
    let completed: { pan: string; token: string | null } | undefined;
    if (completion) {
      const originalRrn = f(61, /^[0-9]{12}/)?.slice(0, 12);
      if (!originalRrn || !terminalId || !merchantId) return answer(request, ResponseCode.FORMAT_ERROR);
      completed = await this.#openAuthorization(BigInt(originalRrn), terminalId, merchantId);
      if (!completed) return answer(request, ResponseCode.ORIGINAL_NOT_FOUND, { 44: 'NO_AUTHORIZATION' });
      // Whatever card number the terminal sent (none, usually), the authorization's is the one.
      request = { ...request, fields: { ...request.fields, 2: completed.token ?? completed.pan } };
    }
    const pan = f(2, /^[0-9]{13,19}$/);
    const amount = f(4, /^[0-9]{12}$/);
    const stan = f(11, /^[0-9]{6}$/);
    const time = f(12, /^[0-9]{6}$/);
    const date = f(13, /^[0-9]{4}$/);
    if (!pan || !processingCode || !amount || !stan || !time || !date || !terminalId || !merchantId || f(49, /^156$/) === undefined) {
      return answer(request, ResponseCode.FORMAT_ERROR);
    }
    const kind = request.mti === '0100' ? 'authorization' : processingCode === '200000' ? 'refund' : completion ? 'completion' : processingCode === '000000' ? 'purchase' : undefined;
    if (!kind) return answer(request, ResponseCode.INVALID_TRANSACTION);
    // A refund names a sale this terminal, of this merchant, made on this card and that still stands.
    if (kind === 'refund') {
      const originalRrn = f(61, /^[0-9]{12}/)?.slice(0, 12);
      if (!originalRrn || !(await this.#ownSale(BigInt(originalRrn), terminalId, merchantId, pan))) return answer(request, ResponseCode.ORIGINAL_NOT_FOUND, { 44: 'NO_ORIGINAL' });
    }

    const now = this.#clock();
    const transmission = transmissionDateTime(now);
    const key = `${terminalId}|${stan}|${date}|${request.mti}`;
    const insertedId = await this.#log.insert({
      terminal_id: terminalId, terminal_stan: stan, pos_date: date, pos_time: time, pos_mti: request.mti, kind, processing_code: processingCode,
      merchant_id: merchantId, ...cardNumberAtRest(this.#o.cardKeys, pan), ...tokenAtRest(this.#o.cardKeys, null),
      amount_fen: parseAmount(amount), transmission, business_date: businessDate(now),
      original_rrn: textField(request, 61)?.slice(0, 12) ?? null, created_at: now,
    });
    if (insertedId === undefined) return this.#duplicate(request, key);
    if (this.#inFlight.size >= inFlightMax) return this.#finish(insertedId, request, { responseCode: ResponseCode.ISSUER_INOPERATIVE });
    const work = this.#forward(insertedId, request, terminal.working.terminalPinKey, transmission, pan, completed);
    this.#inFlight.set(key, work);
    let reply: Iso8583Message;
    try {
      reply = await work;
    } finally {
      this.#inFlight.delete(key);
    }
    if (isTokenPan(pan)) this.#tellTsp(request, reply, { pan, kind, amount, stan, terminalId, merchantId, at: now });
    return reply;
  }

  /**
   * A device card request's final answer, for the TSP to tell the wallet server (the phone's
   * history). Best-effort: queued by the TSP, never awaited here, never able to fail the answer.
   */
  #tellTsp(
    request: Iso8583Message, reply: Iso8583Message,
    facts: { pan: string; kind: 'authorization' | 'purchase' | 'refund' | 'completion'; amount: string; stan: string; terminalId: string; merchantId: string; at: Date },
  ): void {
    const completed = this.#o.tokenService.authorizationCompleted;
    if (!completed) return;
    try {
      const responseCode = textField(reply, 39) ?? '96';
      const originalRrn = facts.kind === 'refund' || facts.kind === 'completion' ? textField(request, 61)?.slice(0, 12) : undefined;
      const reason = textField(reply, 44);
      completed.call(this.#o.tokenService, {
        token: facts.pan, kind: facts.kind === 'authorization' ? 'preauth' : facts.kind,
        outcome: responseCode === '00' ? 'approved' : 'declined', responseCode,
        ...(responseCode !== '00' && reason ? { declineReason: reason } : {}),
        amountFen: Number(parseAmount(facts.amount)), merchantId: facts.merchantId, merchantName: (textField(request, 43) ?? '').trim(),
        mcc: textField(request, 18) ?? '', terminalId: facts.terminalId, stan: facts.stan, rrn: textField(reply, 37) ?? '',
        ...(originalRrn ? { originalRrn } : {}), occurredAt: facts.at.toISOString(),
      });
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'device card notice not handed to the TSP');
    }
  }

  async #forward(
    id: bigint, request: Iso8583Message, terminalPinKey: Buffer, transmission: string, posPan: string,
    completed: { pan: string; token: string | null } | undefined,
  ): Promise<Iso8583Message> {
    let pan = posPan;
    let expiry = textField(request, 14);
    let panSequence = textField(request, 23);
    let icc = binaryField(request, 55);
    let tokenArpc: ArpcInput | undefined;
    let token: string | null = null;
    if (completed) {
      // The device card's cryptogram was checked when the hold was authorized; the completion goes to the card's issuer.
      pan = completed.pan;
      token = completed.token;
      icc = undefined;
    } else if (isTokenPan(posPan)) {
      const result = await this.#o.tokenService.authorize({
        token: posPan, tokenExpiryYymm: expiry, panSequence, iccData: icc, amountFen: parseAmount(textField(request, 4)!), processingCode: textField(request, 3)!,
        posEntryMode: textField(request, 22) ?? '000', terminalId: textField(request, 41)!, merchantId: textField(request, 42)!,
      });
      if (result.outcome === 'declined') {
        return this.#finish(id, request, { responseCode: result.responseCode, reason: result.reason });
      }
      token = posPan;
      pan = result.pan;
      expiry = result.panExpiryYymm;
      panSequence = `0${result.panSequence}`.slice(-3);
      tokenArpc = result.arpcInput;
      icc = undefined;
    }
    const issuerCode = this.#o.routes.route(pan);
    const issuer = issuerCode ? this.#o.issuers.get(issuerCode) : undefined;
    if (!issuerCode || !issuer) return this.#finish(id, request, { responseCode: ResponseCode.NO_SUCH_ISSUER, reason: 'NO_ROUTE' });

    // PIN translation: the terminal's PIN block (under its TPK, formatted with the number the
    // terminal read) becomes the issuer's (under the zone PIN key, with the real card number).
    let pinBlock = binaryField(request, 52);
    if (pinBlock) {
      try {
        const pin = decryptPinBlock('tdes', terminalPinKey, pinBlock, posPan);
        pinBlock = encryptPinBlock('tdes', issuer.zonePinKey, pin, pan);
      } catch (error) {
        if (!(error instanceof CryptoInputError)) throw error;
        return this.#finish(id, request, { responseCode: ResponseCode.INCORRECT_PIN, reason: 'PIN_BLOCK' });
      }
    }
    const toIssuer: Iso8583Message = {
      mti: request.mti,
      fields: {
        2: pan, 3: textField(request, 3), 4: textField(request, 4), 7: transmission, 11: networkStan(id), 12: textField(request, 12),
        13: textField(request, 13), 14: expiry, 18: textField(request, 18), 22: textField(request, 22), 23: panSequence, 25: textField(request, 25),
        32: this.#o.acquirerId, 33: this.#o.acquirerId, 37: retrievalReference(id), 41: textField(request, 41), 42: textField(request, 42),
        43: textField(request, 43), 48: textField(request, 48), 49: '156', 52: pinBlock, 55: icc, 60: token && !completed ? 'TSPV' : undefined, 61: textField(request, 61),
      },
    };
    const card: CardColumns = { ...cardNumberAtRest(this.#o.cardKeys, pan), ...tokenAtRest(this.#o.cardKeys, token) };
    const route = { issuer_code: issuerCode, card };
    let response: Iso8583Message;
    try {
      response = await issuer.client.send(toIssuer, this.#o.bankTimeoutMs);
    } catch (error) {
      if (!(error instanceof ChannelError)) throw error;
      // The request may have reached the issuer and moved money: reverse it, whatever went wrong on the line.
      this.#o.logger.warn({ issuer: issuerCode, rrn: retrievalReference(id), problem: error.code }, 'issuer did not answer; reversing');
      const reply = await this.#finish(id, request, { responseCode: ResponseCode.ISSUER_INOPERATIVE, reason: 'ISSUER_TIMEOUT' }, 'timed_out', route);
      this.#o.reversals.kick();
      return reply;
    }
    const responseCode = textField(response, 39) ?? ResponseCode.SYSTEM_MALFUNCTION;
    return this.#finish(id, request, {
      responseCode, authCode: textField(response, 38), reason: textField(response, 44),
      icc: tokenArpc ? await this.#tokenArpc(tokenArpc, responseCode) : binaryField(response, 55),
    }, 'answered', route);
  }

  /**
   * The TSP's field 55 for a device card's answer, asked once the issuer has answered. The
   * issuer's decision stands whatever the TSP does: if it cannot answer, the terminal gets the
   * issuer's answer without an ARPC (a device card is online-only, the phone does not wait for one).
   */
  async #tokenArpc(input: ArpcInput, responseCode: string): Promise<Buffer | undefined> {
    try {
      return await this.#o.tokenService.issuerAuthenticationData(input, responseCode);
    } catch (error) {
      this.#o.logger.warn({ err: error, tokenLast4: input.token.slice(-4) }, 'the TSP made no ARPC; answering without field 55');
      return undefined;
    }
  }

  async #finish(
    id: bigint, request: Iso8583Message,
    outcome: { responseCode: string; authCode?: string | undefined; reason?: string | undefined; icc?: Buffer | undefined },
    status: 'answered' | 'timed_out' = 'answered',
    route: { issuer_code: string; card: CardColumns } | undefined = undefined,
  ): Promise<Iso8583Message> {
    const reply = answer(request, outcome.responseCode, {
      37: retrievalReference(id), 38: outcome.authCode, 44: outcome.reason?.slice(0, 25), 55: outcome.icc,
    });
    await this.#log.finish(id, {
      status, response_code: outcome.responseCode, auth_code: outcome.authCode ?? null, response_fields: serializeFields({ ...reply.fields, 2: undefined }),
      issuer_code: route?.issuer_code ?? null, card: route?.card ?? null,
      reversal_next_at: status === 'timed_out' ? this.#clock() : null,
    });
    return reply;
  }

  /** The card of an approved, unreversed pre-authorization this terminal made, by its RRN (the log row id). */
  async #openAuthorization(id: bigint, terminalId: string, merchantId: string): Promise<{ pan: string; token: string | null } | undefined> {
    const row = await this.#o.db.selectFrom('transactions').select(['pan_sealed', 'pan_hash', 'token_sealed', 'token_hash']).where('id', '=', id)
      .where('terminal_id', '=', terminalId).where('merchant_id', '=', merchantId).where('kind', '=', 'authorization')
      .where('status', '=', 'answered').where('response_code', '=', ResponseCode.APPROVED).where('reversal_status', '=', 'none')
      .executeTakeFirst();
    const pan = row ? unsealCardNumber(this.#o.cardKeys, row) : undefined;
    return row && pan ? { pan, token: unsealToken(this.#o.cardKeys, row) ?? null } : undefined;
  }

  /** True when `id` is an approved, unreversed sale (or completion) of this terminal and merchant, on this card (or token). */
  async #ownSale(id: bigint, terminalId: string, merchantId: string, card: string): Promise<boolean> {
    const row = await this.#o.db.selectFrom('transactions').select(['pan_hash', 'token_hash']).where('id', '=', id)
      .where('terminal_id', '=', terminalId).where('merchant_id', '=', merchantId).where('kind', 'in', ['purchase', 'completion'])
      .where('status', '=', 'answered').where('response_code', '=', ResponseCode.APPROVED).where('reversal_status', '=', 'none')
      .executeTakeFirst();
    return row !== undefined && (row.token_hash ?? row.pan_hash) === cardNumberHash(this.#o.cardKeys, card);
  }

  /** A terminal sent the same request again (same terminal, STAN, date, MTI): the first answer, never a second debit. */
  async #duplicate(request: Iso8583Message, key: string): Promise<Iso8583Message> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const [terminalId, stan, date, mti] = key.split('|') as [string, string, string, string];
    const deadline = Date.now() + this.#o.bankTimeoutMs * 2 + 1_000;
    for (;;) {
      const row = await this.#o.db.selectFrom('transactions').select(['status', 'response_fields'])
        .where('terminal_id', '=', terminalId).where('terminal_stan', '=', stan).where('pos_date', '=', date).where('pos_mti', '=', mti)
        .executeTakeFirst();
      // The stored answer keeps no card number (field 2): the request being answered carries it.
      if (row && row.status !== 'pending' && row.response_fields) {
        return { mti: responseMti(request.mti), fields: { ...deserializeFields(row.response_fields), 2: request.fields[2] } };
      }
      if (Date.now() > deadline) return answer(request, ResponseCode.ISSUER_INOPERATIVE);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * A terminal's 0400: the network acknowledges at once and owns the reversal toward the issuer
   * from then on. Only the terminal (and merchant) that sent the original can reverse it; an
   * original the network never saw is answered 25 and leaves nothing behind, so a 0400 naming
   * STANs not yet used blocks no later request.
   */
  async #terminalReversal(request: Iso8583Message, terminal: KnownTerminal): Promise<Iso8583Message> {
    const f90 = textField(request, 90);
    const terminalId = terminal.terminalId;
    if (!f90 || !/^[0-9]{42}$/.test(f90)) return answer(request, ResponseCode.FORMAT_ERROR);
    const original = parseOriginalData(f90);
    const date = original.transmissionDateTime.slice(0, 4);
    const running = this.#inFlight.get(`${terminalId}|${original.stan}|${date}|${original.mti}`);
    if (running) await running.catch(() => undefined);
    const now = this.#clock();
    const same = <Q extends { where: (...args: any[]) => Q }>(q: Q): Q => q.where('terminal_id', '=', terminalId).where('merchant_id', '=', terminal.merchantId)
      .where('terminal_stan', '=', original.stan).where('pos_date', '=', date).where('pos_mti', '=', original.mti);
    const updated = await same(this.#o.db.updateTable('transactions').set({ reversal_status: 'pending', reversal_next_at: now }))
      .where('reversal_status', '=', 'none').executeTakeFirst();
    if (updated.numUpdatedRows > 0n) {
      this.#o.reversals.kick();
      return answer(request, ResponseCode.APPROVED);
    }
    // Reversed already (a repeated 0400): acknowledged again. Never seen: 25.
    const known = await same(this.#o.db.selectFrom('transactions').select('id')).executeTakeFirst();
    return known ? answer(request, ResponseCode.APPROVED) : answer(request, ResponseCode.ORIGINAL_NOT_FOUND, { 44: 'NO_ORIGINAL' });
  }
}

/** True when field 7 (MMDDhhmmss, UTC, no year) names a moment within `windowMs` of `now` (the nearest year's). */
export function withinWindow(mmddhhmmss: string, now: Date, windowMs: number): boolean {
  const m = /^([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(mmddhhmmss);
  if (!m) return false;
  const [month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return false;
  return [-1, 0, 1].some((offset) => {
    const at = Date.UTC(now.getUTCFullYear() + offset, month - 1, day, hour, minute, second);
    return new Date(at).getUTCDate() === day && Math.abs(at - now.getTime()) <= windowMs;
  });
}

function answer(request: Iso8583Message, responseCode: string, extra: Fields = {}): Iso8583Message {
  const fields: Fields = {};
  for (const field of echoedToTerminal) fields[field] = request.fields[field];
  if (request.mti === '0400' || request.mti === '0420') fields[90] = request.fields[90];
  fields[39] = responseCode;
  for (const [field, value] of Object.entries(extra)) if (value !== undefined) fields[Number(field)] = value;
  return { mti: responseMti(request.mti), fields };
}

function serializeFields(fields: Iso8583Message['fields']): string {
  const out: Record<string, string | { hex: string }> = {};
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[field] = Buffer.isBuffer(value) ? { hex: value.toString('hex') } : value;
  }
  return JSON.stringify(out);
}

function deserializeFields(text: string): Fields {
  const out: Fields = {};
  for (const [field, value] of Object.entries(JSON.parse(text) as Record<string, string | { hex: string }>)) {
    out[Number(field)] = typeof value === 'string' ? value : Buffer.from(value.hex, 'hex');
  }
  return out;
}
