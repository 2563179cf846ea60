/**
 * The bank's card-payment interface (DESIGN section 1): the ISO 8583 endpoint the network
 * sends authorizations, financial requests, reversals and refunds to, and the card profile a
 * bank personalises a contactless card with. Re-exported by src/bank/client.ts, which is what
 * other parties import.
 */
import type { Logger } from '../../infra/log/logger.ts';
import { createIso8583Client } from '../../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';

export { ChannelError } from '../../infra/net/iso8583-channel.ts';

/** What the bank writes into a card's chip at issuance (sandbox: handed out so the card can be emulated). */
export interface CardPersonalization {
  pan: string;
  panSequence: string;
  expiryYymm: string;
  holderName: string;
  /** The cryptogram family of this card's keys: 3DES (EMV) or SM4 (PBOC 3.0). */
  acAlgorithm: 'tdes' | 'sm4';
  /** Cryptogram version number written into 9F10 byte 3. */
  cryptogramVersion: number;
  /** MK-AC, derived from the issuer master key by EMV Option A. */
  cardMasterKeyAcHex: string;
  /** The last ATC the bank has seen; the card continues from here. */
  atc: number;
  /** CTQ byte 1 bit 8: the card asks for online PIN whatever the amount. */
  onlinePinAlways: boolean;
}

/** The bank's ISO 8583 endpoint as the network sees it. */
export interface BankIso8583Client {
  /** Sends one request; rejects with ChannelError('timeout' | 'unreachable' | …) when no answer comes. */
  send(request: Iso8583Message, timeoutMs: number): Promise<Iso8583Message>;
  close(): Promise<void>;
}

/** The bank over TCP (2-byte length prefix, CUPS ASCII encoding); `keepAliveMs`: 0800 echoes on a quiet link. */
export function createTcpBankIso8583Client(options: {
  host: string | (() => string); port: number | (() => number); logger?: Logger; keepAliveMs?: number;
}): BankIso8583Client {
  const client = createIso8583Client(options);
  return { send: (request, timeoutMs) => client.request(request, timeoutMs), close: () => client.close() };
}
export { ResponseCode, type ResponseCodeValue } from './response-codes.ts';
