/**
 * `mipay voucher verify <pdf> <signature> --key <public key PEM>`: checks an electronic
 * transaction voucher offline, with nothing but the platform's public key (GET
 * /v1/vouchers/public-key). The signature file holds the base64 signature as the API gives it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyVoucher } from '../platform/risk/voucher.ts';

/** Whether the voucher at `pdfPath` carries the key's signature in `signaturePath`. */
export function verifyVoucherFiles(pdfPath: string, signaturePath: string, keyPath: string): boolean {
  return verifyVoucher(readFileSync(keyPath, 'utf8'), readFileSync(pdfPath), readFileSync(signaturePath, 'utf8').trim());
}

export function registerVoucherCommands(program: Command): void {
  const voucher = program.command('voucher').description('electronic transaction vouchers');
  voucher
    .command('verify')
    .description('check a voucher PDF against its detached signature with the platform\'s public key; exits 1 when it does not verify')
    .argument('<pdf>', 'the voucher PDF')
    .argument('<signature>', 'a file holding the base64 signature')
    .requiredOption('--key <pem>', 'the platform\'s voucher public key (PEM), from GET /v1/vouchers/public-key')
    .action((pdf: string, signature: string, options: { key: string }) => {
      const valid = verifyVoucherFiles(pdf, signature, options.key);
      process.stdout.write(valid ? 'voucher verifies: signed by the platform, unchanged\n' : 'voucher does NOT verify: changed, or not signed by this key\n');
      if (!valid) process.exitCode = 1;
    });
}
