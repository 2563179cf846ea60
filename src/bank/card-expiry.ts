/** A card is valid through the last day of its expiry month (ISO/IEC 7813). */
export function isExpired(expiryYymm: string, now: Date): boolean {
  const year = 2000 + Number(expiryYymm.slice(0, 2));
  const month = Number(expiryYymm.slice(2, 4));
  return now.getTime() >= Date.UTC(year, month, 1);
}
