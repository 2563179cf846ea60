// A merchant's POS: reads the contactless card, takes the PIN when the CVM says so, sends the
// ISO 8583 request to the network and prints the receipt. When the network does not answer in
// time the POS reverses (0400) what it may have started, so the cardholder is never charged for
// a sale the merchant thinks failed.
import assert from 'node:assert/strict';
import { ChannelError, type NetworkClient } from '../../network/client.ts';
import { CryptoInputError, encryptPinBlock } from '../../protocols/crypto/index.ts';
import { binaryField, textField, type Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { formatAmount, formatOriginalData, POS_CONDITION_CODE, POS_ENTRY_MODE, PROCESSING_CODE } from '../../protocols/iso8583/spec.ts';
import type { ContactlessCard } from '../../protocols/contactless.ts';
import type { PinPad } from '../client.ts';
import { readContactlessCard, type CardRead } from './kernel.ts';
import { responseText, type Receipt } from './receipt.ts';
import { TerminalSession } from './terminal-session.ts';
import { ResponseCode } from '../../protocols/iso8583/response-codes.ts';

export type PosErrorCode = 'bad_amount' | 'pin_required' | 'pin_format' | 'bad_reference';

/** A request the POS refuses before anything is sent. */
export class PosError extends Error {
  override readonly name = 'PosError';
  readonly code: PosErrorCode;

  constructor(code: PosErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface PosTerminalOptions {
  terminalId: string;
  merchantId: string;
  /** ASCII (field 43 is ans): e.g. "MI HOME BEIJING". */
  merchantName: string;
  mcc: string;
  /** TMK from the terminal's registration: the POS signs on with it for its working keys (TPK, TAK). */
  terminalMasterKey: Buffer;
  network: NetworkClient;
  /** Working keys older than this are rolled before the next message (default 12 h). */
  keyRollMs?: number;
  /** How long to wait for the network; above the network's own bank timeout. */
  networkTimeoutMs?: number;
  /** The STAN to continue from (a POS keeps it across restarts). */
  lastStan?: number;
  clock?: () => Date;
}

export interface ChargeRequest {
  amountFen: bigint;
  card: ContactlessCard;
  pinPad?: PinPad;
  /** 0200 purchase (default) or 0100 pre-authorization (a hold). */
  mode?: 'purchase' | 'authorization';
}

export interface RefundRequest {
  amountFen: bigint;
  originalRrn: string;
  card: ContactlessCard;
}

/** Completing a pre-authorization this terminal made: its RRN and the final amount (up to 115% of the hold). */
export interface CompletionRequest {
  amountFen: bigint;
  originalRrn: string;
}

const amountFenMax = 10n ** 12n - 1n;

export class PosTerminal {
  readonly #options: PosTerminalOptions;
  readonly #clock: () => Date;
  readonly #session: TerminalSession;
  #stan: number;

  constructor(options: PosTerminalOptions) {
    assert.match(options.terminalId, /^[\x20-\x7e]{8}$/, 'terminal id is 8 characters');
    assert.match(options.merchantId, /^[\x20-\x7e]{15}$/, 'merchant id is 15 characters');
    assert.match(options.mcc, /^[0-9]{4}$/);
    this.#options = options;
    this.#clock = options.clock ?? (() => new Date());
    this.#stan = options.lastStan ?? 0;
    this.#session = new TerminalSession({
      terminalId: options.terminalId, merchantId: options.merchantId, terminalMasterKey: options.terminalMasterKey, network: options.network,
      nextStan: () => this.#nextStan(), clock: this.#clock, ...(options.keyRollMs ? { keyRollMs: options.keyRollMs } : {}),
    });
  }

  /**
   * This terminal's authenticated line to the network: what it sends goes out MACed under its
   * working keys, and only answers MACed by the network come back. For messages the POS does not
   * build itself (an operator's tool, a test sending hand-made requests as this terminal).
   */
  get line(): TerminalSession {
    return this.#session;
  }

  /** Signs on (0800, 001) for fresh working keys now, instead of before the first message. */
  async signOn(): Promise<void> {
    await this.#session.signOn(undefined, this.#options.networkTimeoutMs ?? 10_000);
  }

  /** The last STAN used, to be saved so the next run continues from it. */
  get lastStan(): number {
    return this.#stan;
  }

  async charge(request: ChargeRequest): Promise<Receipt> {
    checkAmount(request.amountFen);
    const kind = request.mode ?? 'purchase';
    const now = this.#clock();
    const read = await readContactlessCard(request.card, { amountFen: request.amountFen, type: 'purchase', now, terminalId: this.#options.terminalId });
    let pinBlock: Buffer | undefined;
    if (read.cvm === 'online_pin') {
      if (!request.pinPad) throw new PosError('pin_required', 'this payment needs the cardholder\'s PIN and the POS has no PIN pad');
      const pin = await request.pinPad.enterPin({ amountFen: request.amountFen, cardLast4: read.pan.slice(-4) });
      const keys = await this.#session.workingKeys(this.#options.networkTimeoutMs ?? 10_000);
      try {
        pinBlock = encryptPinBlock('tdes', keys.terminalPinKey, pin, read.pan);
      } catch (error) {
        if (error instanceof CryptoInputError) throw new PosError('pin_format', 'a PIN is 4 to 12 digits');
        throw error;
      }
    }
    const message = this.#request(kind === 'authorization' ? '0100' : '0200', PROCESSING_CODE.PURCHASE, request.amountFen, read, now, {
      22: pinBlock ? POS_ENTRY_MODE.CONTACTLESS_CHIP_PIN_CAPABLE : POS_ENTRY_MODE.CONTACTLESS_CHIP_NO_PIN,
      52: pinBlock,
    });
    return this.#exchange(kind, message, read, now);
  }

  async refund(request: RefundRequest): Promise<Receipt> {
    checkAmount(request.amountFen);
    if (!/^[0-9A-Za-z]{12}$/.test(request.originalRrn)) throw new PosError('bad_reference', 'the original RRN is 12 characters');
    const now = this.#clock();
    const read = await readContactlessCard(request.card, { amountFen: request.amountFen, type: 'refund', now, terminalId: this.#options.terminalId });
    const message = this.#request('0200', PROCESSING_CODE.REFUND, request.amountFen, read, now, {
      22: POS_ENTRY_MODE.CONTACTLESS_CHIP_NO_PIN, 61: request.originalRrn,
    });
    return this.#exchange('refund', message, read, now);
  }

  /**
   * Pre-authorization completion (预授权完成): 0200, processing code 000000, field 25 = 06, field
   * 61 = the authorization's RRN. No card is read — the network takes the card the hold was
   * approved for, and the issuer turns the hold into a debit of this amount.
   */
  async complete(request: CompletionRequest): Promise<Receipt> {
    checkAmount(request.amountFen);
    if (!/^[0-9]{12}$/.test(request.originalRrn)) throw new PosError('bad_reference', 'the pre-authorization\'s RRN is 12 digits');
    const now = this.#clock();
    const { mmdd, hhmmss } = localTimes(now);
    const message: Iso8583Message = {
      mti: '0200',
      fields: {
        3: PROCESSING_CODE.PURCHASE, 4: formatAmount(request.amountFen), 7: mmdd + hhmmss, 11: this.#nextStan(), 12: hhmmss, 13: mmdd,
        18: this.#options.mcc, 22: POS_ENTRY_MODE.MANUAL_NO_PIN, 25: POS_CONDITION_CODE.PREAUTH_COMPLETION, 41: this.#options.terminalId,
        42: this.#options.merchantId, 43: this.#options.merchantName.padEnd(40).slice(0, 40), 49: '156', 61: request.originalRrn,
      },
    };
    const notRead: CardRead = { pan: '', expiryYymm: '', panSequence: '', label: '', aid: '-', cvm: 'none', iccData: Buffer.alloc(0), atc: 0 };
    return this.#exchange('completion', message, notRead, now);
  }

  #request(mti: string, processingCode: string, amountFen: bigint, read: CardRead, now: Date, extra: Record<number, string | Buffer | undefined>): Iso8583Message {
    const { mmdd, hhmmss } = localTimes(now);
    return {
      mti,
      fields: {
        2: read.pan, 3: processingCode, 4: formatAmount(amountFen), 7: mmdd + hhmmss, 11: this.#nextStan(),
        12: hhmmss, 13: mmdd, 14: read.expiryYymm, 18: this.#options.mcc, 23: `0${read.panSequence}`, 25: POS_CONDITION_CODE.NORMAL,
        41: this.#options.terminalId, 42: this.#options.merchantId, 43: this.#options.merchantName.padEnd(40).slice(0, 40), 49: '156',
        55: read.iccData, ...extra,
      },
    };
  }

  /** The next STAN (000001–999999, then round again), field 11 of each message this terminal sends. */
  #nextStan(): string {
    this.#stan = this.#stan >= 999_999 ? 1 : this.#stan + 1;
    return String(this.#stan).padStart(6, '0');
  }

  async #exchange(kind: Receipt['kind'], message: Iso8583Message, read: CardRead, now: Date): Promise<Receipt> {
    const receipt = (responseCode: string, answer?: Iso8583Message): Receipt => ({
      kind, approved: responseCode === ResponseCode.APPROVED, merchantName: this.#options.merchantName, merchantId: this.#options.merchantId,
      terminalId: this.#options.terminalId, cardLabel: read.label,
      // A completion read no card: the network's answer names the authorization's card (field 2).
      cardLast4: (read.pan || (answer ? textField(answer, 2) ?? '' : '')).slice(-4), aid: read.aid,
      amountFen: BigInt(textField(message, 4)!), stan: textField(message, 11)!, rrn: answer ? textField(answer, 37) : undefined,
      authCode: answer ? textField(answer, 38) : undefined, responseCode, responseText: responseText(responseCode), cvm: read.cvm, at: now,
    });
    try {
      const answer = await this.#session.send(message, this.#options.networkTimeoutMs ?? 10_000);
      // Field 55 of the answer (91, ARPC) goes back to the card in a contact transaction; qPBOC
      // online transactions end at the tap, so the POS only keeps it for the journal.
      void binaryField(answer, 55);
      return receipt(textField(answer, 39) ?? ResponseCode.SYSTEM_MALFUNCTION, answer);
    } catch (error) {
      if (!(error instanceof ChannelError)) throw error;
      // No answer, or one that does not carry the network's MAC: whatever it said, undo what may have happened.
      await this.#reverse(message);
      return receipt(error.code === 'unauthenticated' ? ResponseCode.MAC_FAILURE : ResponseCode.NO_ANSWER_REVERSED);
    }
  }

  /** Best effort: the network also reverses on its own when the bank was the silent one. */
  async #reverse(original: Iso8583Message): Promise<void> {
    const now = this.#clock().toISOString();
    const reversal: Iso8583Message = {
      mti: '0400',
      fields: {
        ...original.fields, 52: undefined, 55: undefined, 61: undefined,
        7: now.slice(5, 7) + now.slice(8, 10) + now.slice(11, 13) + now.slice(14, 16) + now.slice(17, 19),
        11: this.#nextStan(),
        90: formatOriginalData({ mti: original.mti, stan: textField(original, 11)!, transmissionDateTime: textField(original, 7)!, acquirerId: '', forwarderId: '' }),
      },
    };
    await this.#session.send(reversal, this.#options.networkTimeoutMs ?? 10_000).catch(() => undefined);
  }
}

/** Fields 13 and 12 (MMDD, hhmmss) of a moment. */
function localTimes(now: Date): { mmdd: string; hhmmss: string } {
  const iso = now.toISOString();
  return { mmdd: iso.slice(5, 7) + iso.slice(8, 10), hhmmss: iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) };
}

function checkAmount(amountFen: bigint): void {
  if (typeof amountFen !== 'bigint' || amountFen <= 0n || amountFen > amountFenMax) throw new PosError('bad_amount', 'the amount must be between 0.01 and 9,999,999,999.99');
}
