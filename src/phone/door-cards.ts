// Door cards (门卡模拟) on the phone: read a MIFARE Classic access card held to the phone, or
// import a dump file, keep it in the secure element when every sector opens with a well-known
// default key, and present it to door readers. An encrypted card is refused — its keys are the
// issuer's and the phone does not know them — and so is anything that is not a MIFARE Classic
// 1K/4K card. A refusal keeps nothing. None of this needs the platform or the Mi account.
import { randomBytes } from 'node:crypto';
import { MifareClassicCard, type MifareClassicTag } from '../protocols/mifare/classic-card.ts';
import { assertUnencrypted, atqaHex, type ClassicImage } from '../protocols/mifare/classic-image.ts';
import { CardAbsentError, readWithDefaultKeys } from '../protocols/mifare/classic-reader.ts';
import { readDumpFile } from '../protocols/mifare/dump-file.ts';
import { MifareError } from '../protocols/mifare/errors.ts';
import { maskUid } from '../protocols/mifare/layout.ts';
import { PhoneError } from './errors.ts';
import type { PhoneState, StoredDoorCard } from './phone-state.ts';

/** Door cards a phone keeps at most (a 4K card is about 8 KB of the state file). */
export const doorCardsMax = 16;
export const doorCardNameLengthMax = 32;

/** The narrow port door cards need: the state and a durable save. */
export interface DoorCardStore {
  readonly state: PhoneState;
  save(): void;
}

export interface DoorCardSummary {
  id: string;
  name: string;
  uidMasked: string;
  type: string;
  source: string;
  isDefault: boolean;
  express: boolean;
  backedUp: boolean;
}

function fromMifare(error: unknown, param: string): never {
  if (error instanceof CardAbsentError)
    throw new PhoneError(
      'no_card_in_field',
      `${error.message} Hold the card still against the phone and try again.`,
      param,
    );
  if (!(error instanceof MifareError)) throw error;
  const code =
    error.code === 'card_encrypted'
      ? 'door_card_encrypted'
      : error.code === 'card_type_not_supported'
        ? 'door_card_not_supported'
        : 'door_card_dump_invalid';
  throw new PhoneError(
    code,
    error.message,
    error.where && code === 'door_card_dump_invalid' ? `${param}: ${error.where}` : param,
  );
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > doorCardNameLengthMax || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new PhoneError(
      'parameter_invalid',
      `A door card's name is 1 to ${doorCardNameLengthMax} printable characters.`,
      'name',
    );
  }
  return trimmed;
}

function toStored(image: ClassicImage, input: { name: string; source: string; addedAt: Date }): StoredDoorCard {
  return {
    id: `door_${randomBytes(6).toString('hex')}`,
    name: input.name,
    uid: image.uid.toString('hex').toUpperCase(),
    atqa: atqaHex(image.atqa),
    sak: image.sak,
    size: image.size,
    blocks: image.blocks.map((b) => b.toString('hex').toUpperCase()),
    keys: image.keys.map((k) => ({
      a: k.a?.toString('hex').toUpperCase() ?? null,
      b: k.b?.toString('hex').toUpperCase() ?? null,
    })),
    source: input.source,
    addedAt: input.addedAt.toISOString(),
    express: false,
    backupId: null,
  };
}

export function imageOfStored(card: StoredDoorCard): ClassicImage {
  return {
    size: card.size,
    uid: Buffer.from(card.uid, 'hex'),
    atqa: parseInt(card.atqa, 16),
    sak: card.sak,
    blocks: card.blocks.map((b) => Buffer.from(b, 'hex')),
    keys: card.keys.map((k) => ({ a: k.a ? Buffer.from(k.a, 'hex') : null, b: k.b ? Buffer.from(k.b, 'hex') : null })),
    unknownBlocks: [],
  };
}

function summary(state: PhoneState, card: StoredDoorCard): DoorCardSummary {
  return {
    id: card.id,
    name: card.name,
    uidMasked: maskUid(Buffer.from(card.uid, 'hex')),
    type: `MIFARE Classic ${card.size.toUpperCase()}`,
    source: card.source,
    isDefault: state.defaultDoorCardId === card.id,
    express: card.express,
    backedUp: Boolean(card.backupId),
  };
}

/** Adds a checked image; the first door card becomes the default. Nothing is written before every check passed. */
function keep(
  store: DoorCardStore,
  image: ClassicImage,
  input: { name?: string | undefined; source: string; now: Date },
): DoorCardSummary {
  const state = store.state;
  const cards = state.doorCards ?? [];
  const uid = image.uid.toString('hex').toUpperCase();
  const existing = cards.find((c) => c.uid === uid);
  if (existing)
    throw new PhoneError(
      'door_card_exists',
      `This card (UID ${maskUid(image.uid)}) is already on the phone as "${existing.name}" (${existing.id}).`,
      'card',
    );
  if (cards.length >= doorCardsMax)
    throw new PhoneError(
      'door_cards_limit',
      `The phone already keeps ${doorCardsMax} door cards; delete one first.`,
      'card',
    );
  const name = checkName(input.name ?? `Door card ${cards.length + 1}`);
  const card = toStored(image, { name, source: input.source, addedAt: input.now });
  const previousDefault = state.defaultDoorCardId;
  state.doorCards = [...cards, card];
  if (!state.defaultDoorCardId) state.defaultDoorCardId = card.id;
  try {
    store.save();
  } catch (error) {
    // Not written: the phone keeps exactly what it had.
    state.doorCards = cards;
    state.defaultDoorCardId = previousDefault;
    throw error;
  }
  return summary(state, card);
}

/** The phone's NFC reader reads the card in its field with the default keys and keeps it if it is unencrypted. */
export function readDoorCard(
  store: DoorCardStore,
  tag: MifareClassicTag,
  input: { name?: string | undefined; now: Date },
): DoorCardSummary {
  let image: ClassicImage;
  try {
    image = readWithDefaultKeys(tag);
  } catch (error) {
    fromMifare(error, 'card');
  }
  return keep(store, image, { name: input.name, source: 'read', now: input.now });
}

/** Imports a dump file (Proxmark3 .bin/.eml/.json, Flipper .nfc), checked as a card is, refused if encrypted. */
export function importDoorCard(
  store: DoorCardStore,
  file: { name: string; bytes: Buffer },
  input: { name?: string | undefined; now: Date },
): DoorCardSummary {
  let image: ClassicImage & { format: string };
  try {
    image = readDumpFile(file.name, file.bytes);
    assertUnencrypted(image);
  } catch (error) {
    fromMifare(error, 'file');
  }
  return keep(store, image, { name: input.name, source: image.format, now: input.now });
}

export function listDoorCards(state: PhoneState): DoorCardSummary[] {
  return (state.doorCards ?? []).map((card) => summary(state, card));
}

/** A door card by id or by exact name. */
export function findDoorCard(state: PhoneState, ref: string): StoredDoorCard {
  const cards = state.doorCards ?? [];
  const matches = cards.filter((c) => c.id === ref || c.name === ref);
  if (matches.length !== 1) {
    const known = cards.map((c) => `${c.id} "${c.name}"`).join(', ') || 'none yet';
    throw new PhoneError(
      'door_card_not_found',
      `${matches.length > 1 ? 'Several' : 'No'} door cards match "${ref}"; door cards: ${known}.`,
      'card',
    );
  }
  return matches[0]!;
}

export function renameDoorCard(store: DoorCardStore, ref: string, name: string): DoorCardSummary {
  const card = findDoorCard(store.state, ref);
  card.name = checkName(name);
  store.save();
  return summary(store.state, card);
}

/** Deletes a door card from the secure element; the next one (if any) becomes the default. */
export function deleteDoorCard(store: DoorCardStore, ref: string): DoorCardSummary {
  const state = store.state;
  const card = findDoorCard(state, ref);
  const gone = summary(state, card);
  // Overwritten, not just dropped: the copied memory holds the door's data.
  card.blocks = card.blocks.map(() => '');
  state.doorCards = (state.doorCards ?? []).filter((c) => c.id !== card.id);
  if (state.defaultDoorCardId === card.id) state.defaultDoorCardId = state.doorCards[0]?.id ?? null;
  store.save();
  return gone;
}

export function setDefaultDoorCard(store: DoorCardStore, ref: string): DoorCardSummary {
  const card = findDoorCard(store.state, ref);
  store.state.defaultDoorCardId = card.id;
  store.save();
  return summary(store.state, card);
}

/** Express (screen off) for one door card; turning it on for one turns it off for the others. */
export function setDoorCardExpress(store: DoorCardStore, ref: string, on: boolean): DoorCardSummary {
  const card = findDoorCard(store.state, ref);
  for (const other of store.state.doorCards ?? []) other.express = false;
  card.express = on;
  if (on) store.state.defaultDoorCardId = card.id;
  store.save();
  return summary(store.state, card);
}

/**
 * What the phone presents to a reader's field for doors: the default door card (or the one
 * picked), as the card itself — UID, ATQA, SAK and the sectors with the keys it knows. With the
 * screen off only an express door card answers; bank cards never answer with the screen off
 * (their applet needs the pay flow's fingerprint). Null: the phone stays silent.
 */
export function doorApplet(
  state: PhoneState,
  options: { screen: 'on' | 'off'; card?: string | undefined },
): MifareClassicTag | null {
  const cards = state.doorCards ?? [];
  const card = options.card ? findDoorCard(state, options.card) : cards.find((c) => c.id === state.defaultDoorCardId);
  if (!card) {
    if (options.screen === 'on')
      throw new PhoneError('door_card_not_found', 'No door card on this phone: read or import one first.', 'card');
    return null;
  }
  if (options.screen === 'off' && !card.express) return null;
  return new MifareClassicCard(imageOfStored(card));
}
