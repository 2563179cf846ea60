/**
 * `platform.ledger_create_transfers`: applies one batch of transfers in one statement, so a batch
 * costs one round trip and one commit however many transfers it holds.
 *
 * The function takes the batch as parallel arrays (one element per transfer, request order) and
 * returns one result code per transfer. In order:
 *  1. reads the pending transfers that posts and voids name (immutable rows, no lock needed);
 *  2. locks every account the batch touches, in id order, so two batches never deadlock, and
 *     reads their counters;
 *  3. only then reads transfers already stored under the batch's ids and the holds' resolutions:
 *     in READ COMMITTED each statement sees what committed before it, so a racing batch on the
 *     same accounts is visible by now (one on other accounts is caught by the primary key, and
 *     the writer retries the batch);
 *  4. judges each transfer in request order against balances held in arrays, so a refusal leaves
 *     the others alone and later transfers see earlier ones' effects;
 *  5. asserts the batch balances, inserts the accepted transfers and writes each touched account
 *     once — a hot account costs one row update per batch, not one per transfer.
 *
 * The schema name is written out: migrations run through Kysely's schema plugin, which does not
 * rewrite raw SQL. Migrations are history: a change to this text needs a new migration.
 */
export const createTransfersFunctionSql = String.raw`
create or replace function platform.ledger_create_transfers(
  p_ids text[], p_debits text[], p_credits text[], p_amounts bigint[], p_kinds text[],
  p_pending_ids text[], p_timeouts integer[], p_codes integer[], p_user_datas text[]
) returns text[] language plpgsql volatile as $fn$
declare
  n integer := coalesce(array_length(p_ids, 1), 0);
  results text[] := array_fill(null::text, array[n]);
  eff_debits text[] := p_debits;
  eff_credits text[] := p_credits;
  eff_amounts bigint[] := p_amounts;
  expires timestamptz[] := array_fill(null::timestamptz, array[n]);
  batch_resolution text[] := array_fill(null::text, array[n]);
  first_pos jsonb;
  ex_pos jsonb; ex_debits text[]; ex_credits text[]; ex_amounts bigint[]; ex_kinds text[];
  ex_pending_ids text[]; ex_timeouts integer[]; ex_codes integer[]; ex_user_datas text[];
  pe_pos jsonb; pe_ids text[]; pe_debits text[]; pe_credits text[]; pe_amounts bigint[]; pe_kinds text[];
  pe_expires timestamptz[]; pe_resolution text[];
  acc_pos jsonb; a_ids text[]; a_dmnec boolean[]; a_cmned boolean[];
  a_dpe bigint[]; a_dpo bigint[]; a_cpe bigint[]; a_cpo bigint[];
  o_dpe bigint[]; o_dpo bigint[]; o_cpe bigint[]; o_cpo bigint[];
  touched boolean[];
  balanced boolean;
  i integer; j integer; q integer; r integer; d integer; c integer; k text; amt bigint;
  pend_debit text; pend_credit text; pend_amount bigint; pend_kind text; pend_expires timestamptz; pend_res text;
  at_now timestamptz := now();
begin
  if n = 0 then return results; end if;

  -- Most batches resolve no hold: skip the lookup then.
  if array_position(p_kinds, 'post_pending') is not null or array_position(p_kinds, 'void_pending') is not null then
    select jsonb_object_agg(t.id, t.o), array_agg(t.id order by t.o), array_agg(t.debit_account_id order by t.o),
           array_agg(t.credit_account_id order by t.o), array_agg(t.amount order by t.o), array_agg(t.kind order by t.o),
           array_agg(t.expires_at order by t.o)
      into pe_pos, pe_ids, pe_debits, pe_credits, pe_amounts, pe_kinds, pe_expires
      from (select x.*, row_number() over (order by x.id)::integer as o
              from platform.ledger_transfers x where x.id = any(p_pending_ids)) t;
  end if;

  -- FOR UPDATE in the sorted subquery locks rows in id order, so batches never deadlock.
  select jsonb_object_agg(a.id, a.o), array_agg(a.id order by a.o),
         array_agg(a.debits_must_not_exceed_credits order by a.o), array_agg(a.credits_must_not_exceed_debits order by a.o),
         array_agg(a.debits_pending order by a.o), array_agg(a.debits_posted order by a.o),
         array_agg(a.credits_pending order by a.o), array_agg(a.credits_posted order by a.o)
    into acc_pos, a_ids, a_dmnec, a_cmned, a_dpe, a_dpo, a_cpe, a_cpo
    from (select x.*, row_number() over (order by x.id)::integer as o
            from (select * from platform.ledger_accounts
                   where id = any(p_debits || p_credits || pe_debits || pe_credits)
                   order by id for update) x) a;
  o_dpe := a_dpe; o_dpo := a_dpo; o_cpe := a_cpe; o_cpo := a_cpo;
  touched := array_fill(false, array[coalesce(array_length(a_ids, 1), 0)]);

  select jsonb_object_agg(t.id, t.o), array_agg(t.debit_account_id order by t.o), array_agg(t.credit_account_id order by t.o),
         array_agg(t.amount order by t.o), array_agg(t.kind order by t.o), array_agg(t.pending_id order by t.o),
         array_agg(t.timeout_seconds order by t.o), array_agg(t.code order by t.o), array_agg(t.user_data order by t.o)
    into ex_pos, ex_debits, ex_credits, ex_amounts, ex_kinds, ex_pending_ids, ex_timeouts, ex_codes, ex_user_datas
    from (select x.*, row_number() over (order by x.id)::integer as o
            from platform.ledger_transfers x where x.id = any(p_ids)) t;

  if pe_ids is not null then
    select array_agg(r.kind order by pe.o) into pe_resolution
      from unnest(pe_ids) with ordinality as pe(id, o)
      left join platform.ledger_transfers r on r.pending_id = pe.id;
  end if;

  -- jsonb keeps the last of duplicate keys: aggregating backwards keeps each id's first position.
  select jsonb_object_agg(u.id, u.o order by u.o desc) into first_pos
    from unnest(p_ids) with ordinality as u(id, o);

  for i in 1 .. n loop
    k := p_kinds[i];

    -- A transfer id applies once: a repeat is 'exists' when its fields match what was applied.
    j := (ex_pos ->> p_ids[i])::integer;
    if j is not null then
      results[i] := case when ex_kinds[j] = k
          and (p_debits[i] is null or p_debits[i] = ex_debits[j]) and (p_credits[i] is null or p_credits[i] = ex_credits[j])
          and (p_amounts[i] is null or p_amounts[i] = ex_amounts[j]) and p_pending_ids[i] is not distinct from ex_pending_ids[j]
          and p_timeouts[i] = ex_timeouts[j] and p_codes[i] = ex_codes[j] and p_user_datas[i] is not distinct from ex_user_datas[j]
        then 'exists' else 'exists_with_different_fields' end;
      continue;
    end if;
    q := (first_pos ->> p_ids[i])::integer;
    if q < i then
      -- The same id earlier in this batch (rare): compare with the occurrence that was applied, if any.
      j := null;
      for r in q .. i - 1 loop
        if p_ids[r] = p_ids[i] and results[r] = 'ok' then j := r; exit; end if;
      end loop;
      if j is not null then
        results[i] := case when p_kinds[j] = k
            and (p_debits[i] is null or p_debits[i] = eff_debits[j]) and (p_credits[i] is null or p_credits[i] = eff_credits[j])
            and (p_amounts[i] is null or p_amounts[i] = eff_amounts[j]) and p_pending_ids[i] is not distinct from p_pending_ids[j]
            and p_timeouts[i] = p_timeouts[j] and p_codes[i] = p_codes[j] and p_user_datas[i] is not distinct from p_user_datas[j]
          then 'exists' else 'exists_with_different_fields' end;
        continue;
      end if;
    end if;

    if k = 'posted' or k = 'pending' then
      amt := p_amounts[i];
      d := (acc_pos ->> p_debits[i])::integer;
      c := (acc_pos ->> p_credits[i])::integer;
      if d is null then results[i] := 'debit_account_not_found'; continue; end if;
      if c is null then results[i] := 'credit_account_not_found'; continue; end if;
      if a_dmnec[d] and a_dpe[d] + a_dpo[d] + amt > a_cpo[d] then results[i] := 'exceeds_credits'; continue; end if;
      if a_cmned[c] and a_cpe[c] + a_cpo[c] + amt > a_dpo[c] then results[i] := 'exceeds_debits'; continue; end if;
      if k = 'posted' then
        a_dpo[d] := a_dpo[d] + amt; a_cpo[c] := a_cpo[c] + amt;
      else
        a_dpe[d] := a_dpe[d] + amt; a_cpe[c] := a_cpe[c] + amt;
        if p_timeouts[i] > 0 then expires[i] := at_now + make_interval(secs => p_timeouts[i]); end if;
      end if;
    else
      j := (pe_pos ->> p_pending_ids[i])::integer;
      if j is not null then
        pend_debit := pe_debits[j]; pend_credit := pe_credits[j]; pend_amount := pe_amounts[j];
        pend_kind := pe_kinds[j]; pend_expires := pe_expires[j]; pend_res := pe_resolution[j];
      else
        -- A hold created earlier in this same batch.
        q := (first_pos ->> p_pending_ids[i])::integer;
        if q is null or q >= i or results[q] is distinct from 'ok' then
          results[i] := 'pending_transfer_not_found'; continue;
        end if;
        pend_debit := eff_debits[q]; pend_credit := eff_credits[q]; pend_amount := eff_amounts[q];
        pend_kind := p_kinds[q]; pend_expires := expires[q]; pend_res := batch_resolution[q];
      end if;
      if pend_kind <> 'pending' then results[i] := 'pending_transfer_not_pending'; continue; end if;
      if pend_res = 'post_pending' then results[i] := 'pending_transfer_already_posted'; continue; end if;
      if pend_res = 'void_pending' then results[i] := 'pending_transfer_already_voided'; continue; end if;
      if p_debits[i] is not null and p_debits[i] <> pend_debit then
        results[i] := 'pending_transfer_has_different_debit_account_id'; continue;
      end if;
      if p_credits[i] is not null and p_credits[i] <> pend_credit then
        results[i] := 'pending_transfer_has_different_credit_account_id'; continue;
      end if;
      amt := coalesce(p_amounts[i], pend_amount);
      if k = 'post_pending' then
        -- An expired hold can only be voided (which is what the expiry sweep does).
        if pend_expires is not null and pend_expires <= at_now then results[i] := 'pending_transfer_expired'; continue; end if;
        if amt > pend_amount then results[i] := 'exceeds_pending_transfer_amount'; continue; end if;
      elsif amt <> pend_amount then
        results[i] := 'pending_transfer_has_different_amount'; continue;
      end if;
      d := (acc_pos ->> pend_debit)::integer;
      c := (acc_pos ->> pend_credit)::integer;
      a_dpe[d] := a_dpe[d] - pend_amount; a_cpe[c] := a_cpe[c] - pend_amount;
      if k = 'post_pending' then a_dpo[d] := a_dpo[d] + amt; a_cpo[c] := a_cpo[c] + amt; end if;
      eff_debits[i] := pend_debit; eff_credits[i] := pend_credit; eff_amounts[i] := amt;
      if j is not null then pe_resolution[j] := k; else batch_resolution[q] := k; end if;
    end if;
    touched[d] := true; touched[c] := true;
    results[i] := 'ok';
  end loop;

  -- Every fen debited is credited: asserted before anything is written (a failure is a bug).
  select coalesce(sum(u.dpo - u.odpo), 0) = coalesce(sum(u.cpo - u.ocpo), 0)
     and coalesce(sum(u.dpe - u.odpe), 0) = coalesce(sum(u.cpe - u.ocpe), 0)
    into balanced
    from unnest(a_dpo, o_dpo, a_cpo, o_cpo, a_dpe, o_dpe, a_cpe, o_cpe) as u(dpo, odpo, cpo, ocpo, dpe, odpe, cpe, ocpe);
  if balanced is distinct from true then
    raise exception 'ledger invariant: batch does not balance' using errcode = 'XX000';
  end if;

  insert into platform.ledger_transfers
      (id, debit_account_id, credit_account_id, amount, kind, pending_id, timeout_seconds, expires_at, code, user_data, created_at)
    select u.id, u.d, u.c, u.a, u.k, u.p, u.t, u.e, u.code, u.ud, at_now
      from unnest(p_ids, eff_debits, eff_credits, eff_amounts, p_kinds, p_pending_ids, p_timeouts, expires, p_codes, p_user_datas, results)
           with ordinality as u(id, d, c, a, k, p, t, e, code, ud, r, o)
     where u.r = 'ok'
     order by u.o;

  update platform.ledger_accounts x
     set debits_pending = u.dpe, debits_posted = u.dpo, credits_pending = u.cpe, credits_posted = u.cpo
    from unnest(a_ids, a_dpe, a_dpo, a_cpe, a_cpo, touched) as u(id, dpe, dpo, cpe, cpo, t)
   where u.t and x.id = u.id;

  return results;
end
$fn$;
`;
