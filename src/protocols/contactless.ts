/**
 * The contactless transport (ISO/IEC 14443-4 with ISO 7816-4 APDUs): anything that answers
 * command APDUs in a reader's field. The card emulator, the phone's payment and transit applets
 * implement it; the POS kernel, the transit gate and the door reader drive it. It sits in the
 * protocols so that a card and a reader share it without one party importing the other.
 */
export interface ContactlessCard {
  /** One command APDU in, one response APDU out (ISO 7816-4 short APDUs). */
  transmit(command: Buffer): Promise<Buffer>;
}
