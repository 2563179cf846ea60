// The online load (圈存) as the phone runs it against its own transit applet: INITIALIZE FOR
// LOAD gives the card's MAC1, the issuer (through the platform) answers MAC2, CREDIT FOR LOAD
// returns the card's TAC. After a tear, GET TRANSACTION PROVE tells whether the card credited.
import { createHash } from 'node:crypto';
import {
  SW, creditForLoad, decodeResponseApdu, encodeCommandApdu, getTransactionProve, initializeForLoad, selectByName,
  GET_TRANSACTION_PROVE_RESPONSE, INITIALIZE_FOR_LOAD_RESPONSE, describeStatusWord, type CommandApdu,
} from '../protocols/apdu.ts';
import { TRANSACTION_TYPE } from '../protocols/epurse/index.ts';
import type { LoadRequest, SignedLoad } from '../transit/client.ts';
import { PhoneError } from './errors.ts';
import type { MiPhone } from './phone.ts';
import { TransitApplet, TRANSIT_KEY_INDEX } from './transit-applet.ts';
import { findTransitCard } from './transit-cards.ts';

/** The phone's own load terminal number: 6 bytes from its hardware id. */
export function loadTerminalId(phone: MiPhone): Buffer {
  return createHash('sha256').update(`load-terminal:${phone.state.device.hardwareId}`).digest().subarray(0, 6);
}

async function open(phone: MiPhone, cardId: string): Promise<{ send: (c: CommandApdu) => Promise<{ data: Buffer; sw: number }>; cardNumber: string }> {
  const card = findTransitCard(phone, cardId);
  if (card.status !== 'active') throw new PhoneError('card_not_active', `The ${card.brandName} card is ${card.status}.`, 'cardId');
  const applet = new TransitApplet({ state: phone.mutableState, save: () => phone.save() }, { pickedCardId: card.id });
  const send = async (c: CommandApdu) => decodeResponseApdu(await applet.transmit(encodeCommandApdu(c)));
  const selected = await send(selectByName(Buffer.from(card.aid, 'hex')));
  if (selected.sw !== SW.OK) throw new PhoneError('transit_load_failed', `The card does not answer: ${describeStatusWord(selected.sw)}.`);
  return { send, cardNumber: card.cardNumber };
}

/**
 * One load: the card's INITIALIZE FOR LOAD goes to `sign` (the platform, then the operator);
 * its MAC2 goes back to the card. Throws PhoneError when the card refuses.
 */
export async function loadCard(phone: MiPhone, input: {
  cardId: string; loadId: string; amountFen: bigint; sign: (request: LoadRequest) => Promise<SignedLoad>;
}): Promise<{ tac: string; onlineSeq: number; balanceFen: bigint }> {
  const { send, cardNumber } = await open(phone, input.cardId);
  const terminalId = loadTerminalId(phone);
  const init = await send(initializeForLoad({ keyIndex: TRANSIT_KEY_INDEX, amountFen: input.amountFen, terminalId }));
  if (init.sw !== SW.OK) throw new PhoneError('transit_load_failed', `The card refuses the load: ${describeStatusWord(init.sw)}.`, 'amountFen');
  const r = INITIALIZE_FOR_LOAD_RESPONSE.decode(init.data);
  const signed = await input.sign({
    loadId: input.loadId, cardNumber, amountFen: input.amountFen, balanceFen: r.balanceFen, onlineSeq: r.onlineSeq,
    random: r.random.toString('hex'), mac1: r.mac1.toString('hex'), terminalId: terminalId.toString('hex'),
  });
  const credit = await send(creditForLoad({ date: signed.date, time: signed.time, mac2: Buffer.from(signed.mac2, 'hex') }));
  if (credit.sw !== SW.OK) throw new PhoneError('transit_load_failed', `The card refuses the issuer's MAC2: ${describeStatusWord(credit.sw)}.`);
  return { tac: credit.data.toString('hex'), onlineSeq: r.onlineSeq, balanceFen: r.balanceFen + input.amountFen };
}

/** After a tear: the TAC of the load the card ran under `onlineSeq`, or null if it never credited it. */
export async function proveLoad(phone: MiPhone, input: { cardId: string; onlineSeq: number }): Promise<{ tac: string } | null> {
  const { send } = await open(phone, input.cardId);
  const prove = await send(getTransactionProve(TRANSACTION_TYPE.load, input.onlineSeq));
  if (prove.sw === SW.PBOC_MAC_UNAVAILABLE) return null;
  if (prove.sw !== SW.OK) throw new PhoneError('transit_load_failed', `The card cannot prove the load: ${describeStatusWord(prove.sw)}.`);
  return { tac: GET_TRANSACTION_PROVE_RESPONSE.decode(prove.data).tac.toString('hex') };
}
