import { sql, type Kysely } from 'kysely';

/**
 * `network.log_writes`: one call writes a batch of the switch's transaction log — the requests
 * that arrived (multi-row insert; a request already logged is skipped) and the answers that
 * left (one update per answered row) — and returns the ids of the requests it inserted.
 *
 * Dropped again by 2026-11-22T0810 (it measured slower than plain statements); kept as history.
 * A function rather than a statement sent each time: PL/pgSQL keeps its statements' plans for
 * the life of the connection, so a batch costs the server no parsing or planning (which was most
 * of its work per batch; see log-writer.ts). The batch arrives as one array per column.
 * The schema name is written out: migrations run through Kysely's schema plugin, which does
 * not rewrite raw SQL. Migrations are history: a change to this text needs a new migration.
 */
export const logWrites = {
  async up(db: Kysely<any>) {
    await sql.raw(String.raw`
create or replace function network.log_writes(
  p_terminal_ids text[], p_stans text[], p_pos_dates text[], p_pos_times text[], p_mtis text[], p_kinds text[], p_processing_codes text[],
  p_merchant_ids text[], p_pans text[], p_tokens text[], p_amounts bigint[], p_transmissions text[], p_business_dates text[],
  p_original_rrns text[], p_created_ats timestamptz[],
  f_ids bigint[], f_statuses text[], f_response_codes text[], f_auth_codes text[], f_response_fields text[], f_issuer_codes text[],
  f_pans text[], f_tokens text[], f_reversal_next_ats timestamptz[]
) returns table (o_id bigint, o_terminal_id text, o_stan text, o_pos_date text, o_mti text) language plpgsql volatile as $fn$
begin
  if coalesce(array_length(f_ids, 1), 0) > 0 then
    update network.transactions t set status = v.status, response_code = v.response_code, auth_code = v.auth_code,
      response_fields = v.response_fields, issuer_code = coalesce(v.issuer_code, t.issuer_code), pan = coalesce(v.pan, t.pan),
      token = coalesce(v.token, t.token),
      reversal_status = case when v.reversal_next_at is null then t.reversal_status else 'pending' end,
      reversal_next_at = coalesce(v.reversal_next_at, t.reversal_next_at)
    from unnest(f_ids, f_statuses, f_response_codes, f_auth_codes, f_response_fields, f_issuer_codes, f_pans, f_tokens, f_reversal_next_ats)
      as v(id, status, response_code, auth_code, response_fields, issuer_code, pan, token, reversal_next_at)
    where t.id = v.id;
  end if;
  if coalesce(array_length(p_terminal_ids, 1), 0) > 0 then
    return query
      insert into network.transactions as t (terminal_id, terminal_stan, pos_date, pos_time, pos_mti, kind, processing_code, merchant_id,
        pan, token, amount_fen, issuer_code, transmission, business_date, status, response_code, auth_code, response_fields, original_rrn,
        reversal_status, reversal_transmission, reversal_attempts, reversal_next_at, created_at)
      select r.terminal_id, r.stan, r.pos_date, r.pos_time, r.mti, r.kind, r.processing_code, r.merchant_id, r.pan, r.token, r.amount,
        null, r.transmission, r.business_date, 'pending', null, null, null, r.original_rrn, 'none', null, 0, null, r.created_at
      from unnest(p_terminal_ids, p_stans, p_pos_dates, p_pos_times, p_mtis, p_kinds, p_processing_codes, p_merchant_ids, p_pans, p_tokens,
        p_amounts, p_transmissions, p_business_dates, p_original_rrns, p_created_ats)
        as r(terminal_id, stan, pos_date, pos_time, mti, kind, processing_code, merchant_id, pan, token, amount, transmission, business_date,
          original_rrn, created_at)
      on conflict on constraint transactions_terminal_request_key do nothing
      returning t.id, t.terminal_id, t.terminal_stan, t.pos_date, t.pos_mti;
  end if;
end
$fn$`).execute(db);
  },
};
