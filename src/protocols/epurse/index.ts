// Public surface of the e-purse protocol (JR/T 0025.2 PBOC e-purse, JT/T 978 T-Union).
export * from './keys.ts';
export * from './mac.ts';
export * from './files.ts';
export * from './purse.ts';
