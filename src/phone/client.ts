/**
 * The phone's face for other parties. No party imports the phone's code: a reader (POS, gate,
 * door) meets its applets through the contactless transport of src/protocols, and the platform
 * meets it over HTTP (src/platform/client.ts). This file names those meeting points and imports
 * nothing of the phone; the cli builds and opens phones from ./party.ts.
 */
/** What the phone's payment and transit applets are to a reader in whose field the phone is held. */
export type { ContactlessCard } from '../protocols/contactless.ts';
/** What the phone's door-card emulation is to a door reader (MIFARE Classic UID and sectors). */
export type { MifareClassicTag } from '../protocols/mifare/classic-card.ts';
