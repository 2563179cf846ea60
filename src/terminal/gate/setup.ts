// Builds a gate for one operator's brand: its PSAM loaded with the purchase master keys it may
// hold (its brand's; on a T-Union brand's gate every T-Union brand's), its AIDs and record store.
import type { BrandWire } from '../../transit/client.ts';
import { TransitGate, type GateMode } from './gate.ts';
import { Psam } from './psam.ts';
import { GateRecordStore } from './record-store.ts';

export interface GateSetup {
  gateId: string;
  brand: BrandWire;
  /** Every brand the operators run (for the T-Union PSAM keys). */
  brands: readonly BrandWire[];
  mode: GateMode;
  /** A brand's purchase master key (from the operator, through the keyring). */
  purchaseMasterKey: (brandCode: string) => Buffer;
  terminalId: Buffer;
  /** The record store file; null keeps records in memory only. */
  storePath: string | null;
  clock?: () => Date;
}

export function createTransitGate(setup: GateSetup): TransitGate {
  const { brand } = setup;
  const keyBrands = brand.kind === 'tunion' ? setup.brands.filter((b) => b.kind === 'tunion') : [brand];
  const store = new GateRecordStore(setup.storePath);
  store.data.brandCode ??= brand.code;
  const psam = new Psam({
    terminalId: setup.terminalId, lastTerminalSeq: store.data.terminalSeq,
    keys: keyBrands.map((b) => ({ cardPrefix: b.cardPrefix, algorithm: b.algorithm, purchaseMasterKey: setup.purchaseMasterKey(b.code) })),
  });
  return new TransitGate({
    gateId: setup.gateId, brand, mode: setup.mode, psam, store, aids: [brand.aid], tripSfi: () => brand.tripSfi,
    ...(setup.clock ? { clock: setup.clock } : {}),
  });
}
