/**
 * What the network's TSP tells the wallet server after each device-card transaction: the tap,
 * refund, pre-authorization or completion with the network's final answer (DESIGN section 3,
 * tokens: "the TSP notifies it of each transaction"). The wallet side receives exactly this
 * shape (src/platform/transactions/device-card-notices.ts declares it too: parties share wire
 * shapes, not code). No token number, card number or key is in it: the token reference and last 4.
 */
export interface DeviceCardTransactionNotice {
  tokenReferenceId: string; tokenLast4: string;
  kind: 'purchase' | 'refund' | 'reversal' | 'preauth' | 'completion';
  outcome: 'approved' | 'declined'; responseCode: string; declineReason?: string;
  amountFen: number; merchantId: string; merchantName: string; mcc: string; terminalId: string;
  stan: string; rrn: string; originalRrn?: string; occurredAt: string; // ISO 8601
}

/** Called once the network has the final answer of a device-card request; a failure is logged, never the terminal's problem. */
export type DeviceCardTransactionListener = (notice: DeviceCardTransactionNotice) => Promise<unknown> | unknown;
