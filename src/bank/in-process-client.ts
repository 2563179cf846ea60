import type { BankClient } from './client.ts';
import type { BankService } from './service.ts';
import type { SettlementService } from './settlement.ts';

/** The bank in this process: calls go straight to its service. */
export function createInProcessBankClient(service: BankService, settlement: SettlementService): BankClient {
  return {
    lookupCard: (cardNumber) => service.lookupCard(cardNumber),
    startVerification: (request) => service.startVerification(request),
    confirmVerification: (request) => service.confirmVerification(request),
    transferOnAgreement: (request) => settlement.transfer(request),
    findAgreementTransfer: (reference) => settlement.findTransfer(reference),
    revokeAgreement: (agreementId) => settlement.revokeAgreement(agreementId),
    startAgreementVerification: (request) => service.startAgreementVerification(request),
    getCardForTokenization: (agreementId) => service.getCardForTokenization(agreementId),
  };
}
