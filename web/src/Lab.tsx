// The lab (/lab, sandbox only): the caller's virtual phones beside the lab POS. The phones and
// the POS run in the platform process (src/cli/lab.ts, the same code as the CLI); a tap is an
// APDU exchange, an ISO 8583 authorization and a bank debit, traced here as it happens.
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, session, yuan, type Answer } from './api.ts';
import { ErrorLine, Field, Notice, Shell, useAction, useLoad } from './ui.tsx';

type Phone = Answer<'/v1/sandbox/lab/phones', 'get'>['data'][number];
type Trace = Answer<'/v1/sandbox/lab/trace', 'get'>['data'];
type Charge = Answer<'/v1/sandbox/lab/pos/charges', 'post'>;

export default function Lab() {
  const { t } = useTranslation();
  if (!session.get()) {
    return (
      <Shell title={t('lab.title')}>
        <h1>{t('lab.title')}</h1>
        <p>{t('lab.needLogin')}</p>
        <a className="button primary" href="/">{t('lab.goLogin')}</a>
      </Shell>
    );
  }
  return <LabBench />;
}

function LabBench() {
  const { t } = useTranslation();
  const phones = useLoad(() => api('get', '/v1/sandbox/lab/phones'));
  const [selected, setSelected] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const action = useAction();
  const list = phones.data?.data ?? [];
  const phone = list.find((p) => p.id === selected) ?? list[0];
  return (
    <Shell title={t('lab.title')} nav={<nav aria-label={t('nav')} className="nav"><ul><li><a href="/">{t('section.overview')}</a></li></ul></nav>}>
      <h1>{t('lab.title')}</h1>
      <p>{t('lab.intro')}</p>
      <ErrorLine error={phones.error} />
      <div className="bench">
        <section className="card phone" aria-label={t('lab.phone')}>
          <h2>{t('lab.phone')}</h2>
          {list.length > 1 && (
            <label className="field"><span>{t('lab.phone')}</span>
              <select value={phone?.id} onChange={(e) => setSelected(e.target.value)}>
                {list.map((p) => <option key={p.id} value={p.id}>{p.model} {p.id}</option>)}
              </select>
            </label>
          )}
          {phone ? <PhoneScreen phone={phone} onChanged={phones.reload} /> : null}
          <form onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => {
              const made = await api('post', '/v1/sandbox/lab/phones', { body: { password } });
              setSelected(made.id);
              setPassword('');
              phones.reload();
            });
          }}>
            <Field label={t('lab.passwordForPhone')} name="lab_password" type="password" value={password} onChange={setPassword} autoComplete="current-password" />
            <button type="submit" disabled={action.busy}>{t('lab.newPhone')}</button>
            <ErrorLine error={action.error} />
          </form>
        </section>
        <Pos phone={phone} onTapped={phones.reload} />
        <section className="card" aria-label={t('lab.gate')}>
          <h2>{t('lab.gate')} · {t('lab.door')}</h2>
          <p className="placeholder">{t('lab.expressComing')}</p>
        </section>
      </div>
      <TraceView />
    </Shell>
  );
}

function PhoneScreen({ phone, onChanged }: { phone: Phone; onChanged: () => void }) {
  const { t } = useTranslation();
  const [card, setCard] = useState('');
  const [code, setCode] = useState('');
  const [picked, setPicked] = useState<string>(phone.cards[0]?.id ?? '');
  const [now, setNow] = useState(Date.now());
  const [fetchedAt, setFetchedAt] = useState(Date.now());
  useEffect(() => setFetchedAt(Date.now()), [phone]);
  const action = useAction();
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    if (!phone.cards.some((c) => c.id === picked) && phone.cards[0]) setPicked(phone.cards[0].id);
  }, [phone.cards, picked]);
  // Counted down from the phone's own answer (its clock, not the browser's).
  const left = Math.max(0, phone.armed_seconds_left - Math.floor((now - fetchedAt) / 1000));
  const path = (rest: string) => `/v1/sandbox/lab/phones/${phone.id}/${rest}`;
  const onDragStart = (e: DragEvent) => e.dataTransfer.setData('text/plain', phone.id);
  return (
    <div className="screen" draggable onDragStart={onDragStart} data-phone-id={phone.id}>
      <p>{phone.model} · {phone.device_id} · {phone.offline ? t('lab.offline') : t('lab.online')}</p>
      <fieldset>
        <legend>{t('lab.cards')}</legend>
        {phone.cards.length === 0 && <p>{t('none')}</p>}
        {phone.cards.map((c) => (
          <label key={c.id} className="radio">
            <input type="radio" name="lab_card" value={c.id} checked={picked === c.id} onChange={() => setPicked(c.id)} />
            {c.bank_name} {c.card_kind} **** {c.token_last4} · {t(`status.${c.status}`)} · {t('lab.keysLeft', { n: c.keys_left })}
          </label>
        ))}
      </fieldset>
      <p role="status" data-testid="armed">{left > 0 ? t('lab.armed', { s: left }) : t('lab.notArmed')}</p>
      <div className="row">
        <button type="button" className="primary" disabled={!picked || action.busy} onClick={() => void action.run(async () => {
          await api('post', '/v1/sandbox/lab/phones/{id}/arm', { path: path('arm'), body: { device_card_id: picked, finger: 'right-thumb' } });
          onChanged();
        })}>{t('lab.finger')}</button>
        <button type="button" aria-pressed={phone.offline} onClick={() => void action.run(async () => {
          await api('put', '/v1/sandbox/lab/phones/{id}/network', { path: path('network'), body: { offline: !phone.offline } });
          onChanged();
        })}>{t('lab.offline')}</button>
        <button type="button" disabled={phone.offline} onClick={() => void action.run(async () => {
          await api('post', '/v1/sandbox/lab/phones/{id}/sync', { path: path('sync') });
          onChanged();
        })}>{t('lab.sync')}</button>
      </div>
      {!phone.pending_card ? (
        <form onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            await api('post', '/v1/sandbox/lab/phones/{id}/card-applications', { path: path('card-applications'), body: { card, finger: 'right-thumb' } });
            onChanged();
          });
        }}>
          <Field label={t('lab.cardPick')} name="lab_card_pick" value={card} onChange={setCard} />
          <button type="submit" disabled={action.busy}>{t('lab.addCard')}</button>
        </form>
      ) : (
        <form onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            await api('post', '/v1/sandbox/lab/phones/{id}/cards', { path: path('cards'), body: { sms_code: code } });
            setCode('');
            onChanged();
          });
        }}>
          <Notice text={t('lab.smsSentTo', { phone: phone.pending_card.phone_masked })} />
          <Field label={t('smsCode')} name="lab_card_code" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" />
          <button type="submit" disabled={action.busy}>{t('lab.confirmCard')}</button>
        </form>
      )}
      <ErrorLine error={action.error} />
      <h3>{t('lab.history')}</h3>
      <ul className="list" data-testid="phone-history">
        {phone.history.map((h, i) => (
          <li key={i}>{new Date(h.at).toLocaleTimeString(undefined, { hour12: false })} · {yuan(h.amount_fen)} · {h.approved ? t('lab.approved') : t('lab.declined')} · {h.response}</li>
        ))}
      </ul>
    </div>
  );
}

function Pos({ phone, onTapped }: { phone: Phone | undefined; onTapped: () => void }) {
  const { t } = useTranslation();
  const [amount, setAmount] = useState('');
  const [pin, setPin] = useState('');
  const [askPin, setAskPin] = useState(false);
  const [result, setResult] = useState<Charge | null>(null);
  const action = useAction();
  const [over, setOver] = useState(false);
  const tap = (phoneId: string | undefined) => {
    if (!phoneId) return;
    const fen = Math.round(Number(amount) * 100);
    void action.run(async () => {
      setResult(null);
      try {
        setResult(await api('post', '/v1/sandbox/lab/pos/charges', { body: { phone_id: phoneId, amount_fen: fen, ...(askPin && pin ? { pin } : {}) } }));
        setAskPin(false);
        setPin('');
      } catch (e) {
        if ((e as { param?: string }).param === 'pin') setAskPin(true);
        throw e;
      } finally {
        onTapped();
      }
    });
  };
  const key = (k: string) => setAmount((a) => (k === 'C' ? '' : k === '.' && a.includes('.') ? a : `${a}${k}`));
  return (
    <section className={`card pos${over ? ' over' : ''}`} aria-label={t('lab.pos')}
      onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)}
      onDrop={(e) => { e.preventDefault(); setOver(false); tap(e.dataTransfer.getData('text/plain')); }}>
      <h2>{t('lab.pos')}</h2>
      <Field label={t('lab.amount')} name="pos_amount" value={amount} onChange={setAmount} inputMode="numeric" />
      <div className="keypad" role="group" aria-label={t('lab.digits')}>
        {['1', '2', '3', '4', '5', '6', '7', '8', '9', '.', '0', 'C'].map((k) => (
          <button type="button" key={k} onClick={() => key(k)} aria-label={k === 'C' ? t('lab.clear') : k}>{k}</button>
        ))}
      </div>
      {askPin && <Field label={t('lab.pin')} name="pos_pin" type="password" value={pin} onChange={setPin} inputMode="numeric" />}
      <p className="hint">{t('lab.dropHere')}</p>
      <button type="button" className="primary" disabled={!phone || amount === '' || action.busy} onClick={() => tap(phone?.id)}>{t('lab.tap')}</button>
      <ErrorLine error={action.error} />
      {result && (
        <div role="status">
          <p className={result.approved ? 'ok' : 'error'} data-testid="pos-result">{result.approved ? t('lab.approved') : t('lab.declined')} ({result.response_code})</p>
          <h3>{t('lab.receipt')}</h3>
          <pre className="receipt" data-testid="receipt">{result.receipt}</pre>
        </div>
      )}
    </section>
  );
}

function TraceView() {
  const { t } = useTranslation();
  const [events, setEvents] = useState<Trace>([]);
  const last = useRef(0);
  useEffect(() => {
    let live = true;
    const poll = async () => {
      while (live) {
        try {
          const answer = await api('get', '/v1/sandbox/lab/trace', { query: { after: String(last.current) } });
          if (answer.data.length > 0) {
            last.current = answer.data[answer.data.length - 1]!.seq;
            setEvents((old) => [...old, ...answer.data].slice(-200));
          }
        } catch { /* the next poll retries */ }
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
    };
    void poll();
    return () => {
      live = false;
    };
  }, []);
  return (
    <section className="card" aria-label={t('lab.trace')}>
      <h2>{t('lab.trace')}</h2>
      <ol className="trace" data-testid="trace" tabIndex={0} aria-label={t('lab.trace')}>
        {events.map((e) => (
          <li key={e.seq} className={e.kind}>
            <code>{e.kind === 'note' ? '•' : e.direction} {e.text}</code>
            {e.fields && <code className="fields">{Object.entries(e.fields).map(([k, v]) => `${k}=${v}`).join('  ')}</code>}
          </li>
        ))}
      </ol>
    </section>
  );
}
