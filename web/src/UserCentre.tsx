// The user centre ("mipay.com"): log in, devices with their device cards (turn Mi Pay off on a
// lost phone), cards, balance and history, the payment account, security. Privacy and support
// are placeholders until their APIs land (issues 16 and 17).
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, download, session, yuan, type Answer } from './api.ts';
import { ErrorLine, Field, Notice, Shell, useAction, useLoad } from './ui.tsx';

const sections = ['overview', 'devices', 'cards', 'history', 'account', 'security', 'privacy', 'support'] as const;
type Section = (typeof sections)[number];
const placeholders: Partial<Record<Section, { n: number; branch: string }>> = {
  privacy: { n: 16, branch: 'i16-privacy' }, support: { n: 17, branch: 'i17-staff' },
};

function currentSection(): Section {
  const hash = window.location.hash.slice(1);
  return (sections as readonly string[]).includes(hash) ? hash as Section : 'overview';
}

export function UserCentre() {
  const { t } = useTranslation();
  const [loggedIn, setLoggedIn] = useState(session.get() !== null);
  const [section, setSection] = useState<Section>(currentSection);
  useEffect(() => {
    const onHash = () => setSection(currentSection());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  if (!loggedIn) return <Shell title={t('logIn')}><Auth onLoggedIn={() => setLoggedIn(true)} /></Shell>;
  const logOut = async () => {
    await api('delete', '/v1/sessions/current').catch(() => undefined);
    session.clear();
    setLoggedIn(false);
  };
  const nav = (
    <nav aria-label={t('nav')} className="nav">
      <ul>
        {sections.map((s) => (
          <li key={s}><a href={`#${s}`} aria-current={s === section ? 'page' : undefined}>{t(`section.${s}`)}</a></li>
        ))}
        <li><a href="/lab">{t('lab.title')}</a></li>
      </ul>
    </nav>
  );
  const placeholder = placeholders[section];
  return (
    <Shell title={t(`section.${section}`)} nav={nav} right={<button type="button" className="link" onClick={logOut}>{t('logOut')}</button>}>
      <h1>{t(`section.${section}`)}</h1>
      {placeholder ? <p className="placeholder">{t('comingWith', placeholder)}</p>
        : section === 'overview' ? <Overview />
          : section === 'devices' ? <Devices />
            : section === 'cards' ? <Cards />
              : section === 'history' ? <History />
                : section === 'account' ? <PaymentAccount />
                  : <Security onLoggedOut={() => setLoggedIn(false)} />}
    </Shell>
  );
}

function Auth({ onLoggedIn }: { onLoggedIn: () => void }) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<'log_in' | 'sign_up'>('log_in');
  const [phone, setPhone] = useState('');
  const [password, setPassword] = useState('');
  const [nickname, setNickname] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const action = useAction();
  const logIn = async () => {
    const created = await api('post', '/v1/sessions', { body: { phone, password } });
    session.set(created.token);
    onLoggedIn();
  };
  return (
    <section className="card narrow">
      <h1>{mode === 'log_in' ? t('logIn') : t('signUp')}</h1>
      <form onSubmit={(e) => {
        e.preventDefault();
        void action.run(mode === 'log_in' ? logIn : async () => {
          await api('post', '/v1/accounts', { body: { phone, sms_code: code, password, nickname } });
          await logIn();
        });
      }}>
        <Field label={t('phone')} name="phone" value={phone} onChange={setPhone} inputMode="tel" autoComplete="tel" />
        {mode === 'sign_up' && (
          <>
            <div className="row">
              <Field label={t('smsCode')} name="sms_code" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" />
              <button type="button" disabled={action.busy || phone === ''} onClick={() => void action.run(async () => {
                await api('post', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
                setSent(t('codeSent', { phone }));
              })}>{t('sendCode')}</button>
            </div>
            <Notice text={sent} />
            <Field label={t('nickname')} name="nickname" value={nickname} onChange={setNickname} />
          </>
        )}
        <Field label={t('password')} name="password" type="password" value={password} onChange={setPassword}
          autoComplete={mode === 'log_in' ? 'current-password' : 'new-password'} />
        <ErrorLine error={action.error} />
        <button type="submit" className="primary" disabled={action.busy}>{mode === 'log_in' ? t('logIn') : t('signUp')}</button>
      </form>
      {mode === 'log_in' && <p className="hint">{t('smsLoginWaits')}</p>}
      <button type="button" className="link" onClick={() => setMode(mode === 'log_in' ? 'sign_up' : 'log_in')}>
        {mode === 'log_in' ? t('noAccount') : t('haveAccount')}
      </button>
    </section>
  );
}

function Overview() {
  const { t } = useTranslation();
  const account = useLoad(() => api('get', '/v1/account'));
  const balance = useLoad(() => api('get', '/v1/balance').catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))));
  return (
    <section className="card">
      {account.data && <p>{t('loggedInAs', { name: account.data.nickname })} · {account.data.mi_number}</p>}
      {balance.data && <p>{t('balance')}: <strong data-testid="balance">{yuan(balance.data.available_fen)}</strong></p>}
      {balance.data === null && <p><a href="#account">{t('openAccount')}</a></p>}
      <ErrorLine error={account.error ?? balance.error} />
    </section>
  );
}

type DeviceCard = Answer<'/v1/device-cards', 'get'>['data'][number];

function Devices() {
  const { t } = useTranslation();
  const devices = useLoad(() => api('get', '/v1/devices'));
  const cards = useLoad(() => api('get', '/v1/device-cards'));
  const reload = () => {
    devices.reload();
    cards.reload();
  };
  return (
    <>
      <ErrorLine error={devices.error ?? cards.error} />
      {devices.data?.data.length === 0 && <p>{t('none')}</p>}
      {devices.data?.data.map((device) => (
        <section key={device.id} className="card" aria-label={`${device.model} ${device.device_id}`}>
          <h2>{device.model} <small>{device.device_id}</small></h2>
          <p>{t('deviceStatus')}: <strong data-testid="device-status">{t(`status.${device.status}`)}</strong></p>
          <DeviceSwitch device={device} onChanged={reload} />
          <h3>{t('deviceCards')}</h3>
          <DeviceCardList cards={cards.data?.data.filter((c) => c.device_id === device.id) ?? []} onChanged={reload} />
        </section>
      ))}
    </>
  );
}

function DeviceSwitch({ device, onChanged }: { device: { id: string; status: string }; onChanged: () => void }) {
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState(false);
  const [password, setPassword] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  if (device.status === 'active') {
    return (
      <div>
        {!confirming ? <button type="button" className="danger" onClick={() => setConfirming(true)}>{t('turnOff')}</button> : (
          <div role="alertdialog" aria-label={t('turnOff')} className="confirm">
            <p>{t('turnOffConfirm')}</p>
            <button type="button" className="danger" disabled={action.busy} onClick={() => void action.run(async () => {
              await api('post', '/v1/devices/{id}/disable', { path: `/v1/devices/${device.id}/disable` });
              setConfirming(false);
              setDone(t('turnedOff'));
              onChanged();
            })}>{t('confirm')}</button>
            <button type="button" onClick={() => setConfirming(false)}>{t('cancel')}</button>
          </div>
        )}
        <ErrorLine error={action.error} />
        <Notice text={done} />
      </div>
    );
  }
  if (device.status !== 'disabled') return null;
  return (
    <form onSubmit={(e) => {
      e.preventDefault();
      void action.run(async () => {
        await api('post', '/v1/devices/{id}/enable', { path: `/v1/devices/${device.id}/enable`, body: { password } });
        setPassword('');
        setDone(t('turnedOn'));
        onChanged();
      });
    }}>
      <p>{t('turnOnHelp')}</p>
      <Field label={t('password')} name="enable_password" type="password" value={password} onChange={setPassword} autoComplete="current-password" />
      <button type="submit" className="primary" disabled={action.busy}>{t('turnOn')}</button>
      <ErrorLine error={action.error} />
      <Notice text={done} />
    </form>
  );
}

function DeviceCardList({ cards, onChanged }: { cards: DeviceCard[]; onChanged: () => void }) {
  const { t } = useTranslation();
  const action = useAction();
  const [deleting, setDeleting] = useState<string | null>(null);
  const live = cards.filter((c) => c.status !== 'deleted');
  if (live.length === 0) return <p>{t('none')}</p>;
  const act = (card: DeviceCard, verb: 'suspend' | 'resume') => void action.run(async () => {
    await api('post', `/v1/device-cards/{id}/${verb}` as '/v1/device-cards/{id}/suspend', { path: `/v1/device-cards/${card.id}/${verb}` });
    onChanged();
  });
  return (
    <ul className="list">
      {live.map((card) => (
        <li key={card.id}>
          <span>{card.bank_name} {card.card_kind} · {card.token_masked} · {t(`status.${card.status}`)}</span>
          <span className="actions">
            {card.status === 'active' && <button type="button" onClick={() => act(card, 'suspend')}>{t('suspend')}</button>}
            {card.status === 'suspended' && <button type="button" onClick={() => act(card, 'resume')}>{t('resume')}</button>}
            {deleting === card.id ? (
              <span role="alertdialog" aria-label={t('deleteConfirm')}>
                {t('deleteConfirm')}
                <button type="button" className="danger" onClick={() => void action.run(async () => {
                  await api('delete', '/v1/device-cards/{id}', { path: `/v1/device-cards/${card.id}` });
                  setDeleting(null);
                  onChanged();
                })}>{t('confirm')}</button>
                <button type="button" onClick={() => setDeleting(null)}>{t('cancel')}</button>
              </span>
            ) : <button type="button" onClick={() => setDeleting(card.id)}>{t('delete')}</button>}
          </span>
        </li>
      ))}
      <ErrorLine error={action.error} />
    </ul>
  );
}

function Cards() {
  const { t } = useTranslation();
  const bank = useLoad(() => api('get', '/v1/cards'));
  const device = useLoad(() => api('get', '/v1/device-cards'));
  const transit = useLoad(() => api('get', '/v1/transit/cards').catch(() => ({ data: [] })));
  const door = useLoad(() => api('get', '/v1/door-cards'));
  return (
    <>
      <section className="card">
        <h2>{t('bankCards')}</h2>
        <ErrorLine error={bank.error} />
        <ul className="list">
          {bank.data?.data.map((c) => <li key={c.id}>{c.bank_name} {c.kind} · {c.masked_number} · {c.status}</li>)}
        </ul>
        {bank.data?.data.length === 0 && <p>{t('none')}</p>}
      </section>
      <section className="card">
        <h2>{t('deviceCards')}</h2>
        <DeviceCardList cards={device.data?.data ?? []} onChanged={device.reload} />
      </section>
      <section className="card">
        <h2>{t('transitCards')}</h2>
        {transit.data?.data.length === 0 && <p>{t('none')}</p>}
        <ul className="list">{transit.data?.data.map((c) => <TransitCard key={c.id} card={c} />)}</ul>
      </section>
      <section className="card">
        <h2>{t('doorCards')}</h2>
        {door.data?.data.length === 0 && <p>{t('none')}</p>}
        <ul className="list">{door.data?.data.map((c) => <li key={c.id}>{c.name} · {c.uid_masked} · {c.card_type}</li>)}</ul>
      </section>
    </>
  );
}

function TransitCard({ card }: { card: Answer<'/v1/transit/cards', 'get'>['data'][number] }) {
  const { t } = useTranslation();
  const [trips, setTrips] = useState<Record<string, unknown>[] | null>(null);
  const action = useAction();
  return (
    <li>
      <span>{card.brand} · {card.card_number ?? card.id} · {card.status}</span>
      <button type="button" onClick={() => void action.run(async () => {
        const answer = await api('get', '/v1/transit/cards/{card_id}/history', { path: `/v1/transit/cards/${card.id}/history` }) as { data?: Record<string, unknown>[] };
        setTrips(answer.data ?? []);
      })}>{t('trips')}</button>
      {trips && (trips.length === 0 ? <p>{t('noTrips')}</p> : (
        <ul>{trips.map((trip, i) => <li key={i}>{Object.entries(trip).map(([k, v]) => `${k}: ${String(v)}`).join(' · ')}</li>)}</ul>
      ))}
      <ErrorLine error={action.error} />
    </li>
  );
}

type Transaction = Answer<'/v1/transactions', 'get'>['data'][number];
const types = ['top_up', 'withdrawal', 'transfer', 'payment', 'refund'] as const;

function History() {
  const { t } = useTranslation();
  const [type, setType] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const balance = useLoad(() => api('get', '/v1/balance'));
  const list = useLoad(() => api('get', '/v1/transactions', { query: { limit: '100' } }));
  const action = useAction();
  const shown = (list.data?.data ?? []).filter((tx) => (type === '' || tx.type === type)
    && (from === '' || tx.created_at.slice(0, 10) >= from) && (to === '' || tx.created_at.slice(0, 10) <= to));
  const csv = `/v1/transactions.csv?${new URLSearchParams(Object.entries({ from, to }).filter(([, v]) => v !== ''))}`;
  return (
    <>
      <section className="card">
        <p>{t('balance')}: <strong data-testid="history-balance">{balance.data ? yuan(balance.data.available_fen) : '—'}</strong></p>
        <ErrorLine error={balance.error} />
        <TopUp onDone={() => {
          balance.reload();
          list.reload();
        }} />
      </section>
      <section className="card">
        <h2>{t('history')}</h2>
        <div className="filters">
          <label className="field"><span>{t('filterType')}</span>
            <select name="type" value={type} onChange={(e) => setType(e.target.value)}>
              <option value="">{t('all')}</option>
              {types.map((ty) => <option key={ty} value={ty}>{t(`type.${ty}`)}</option>)}
            </select>
          </label>
          <Field label={t('filterFrom')} name="from" type="date" value={from} onChange={setFrom} required={false} />
          <Field label={t('filterTo')} name="to" type="date" value={to} onChange={setTo} required={false} />
          <button type="button" onClick={() => void action.run(() => download(csv, 'mipay-transactions.csv'))}>{t('downloadCsv')}</button>
        </div>
        <ErrorLine error={list.error ?? action.error} />
        {shown.length === 0 && <p>{t('none')}</p>}
        <table className="table">
          <thead><tr><th scope="col">{t('time')}</th><th scope="col">{t('filterType')}</th><th scope="col">{t('amount')}</th><th scope="col">{t('detail')}</th></tr></thead>
          <tbody>
            {shown.map((tx) => (
              <tr key={tx.id}>
                <td>{new Date(tx.created_at).toLocaleString(undefined, { hour12: false })}</td>
                <td>{t(`type.${tx.type}`)}</td>
                <td>{tx.direction === 'out' ? '−' : tx.direction === 'in' ? '+' : ''}{yuan(tx.amount_fen)}</td>
                <td><button type="button" aria-expanded={open === tx.id} onClick={() => setOpen(open === tx.id ? null : tx.id)}>{t('detail')}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
        {open && <TransactionDetail id={open} />}
      </section>
    </>
  );
}

function TopUp({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const cards = useLoad(() => api('get', '/v1/cards'));
  const [card, setCard] = useState('');
  const [amount, setAmount] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const bound = cards.data?.data.filter((c) => c.status === 'active') ?? [];
  if (bound.length === 0) return null;
  return (
    <form onSubmit={(e) => {
      e.preventDefault();
      void action.run(async () => {
        // Each submission carries its own Idempotency-Key (api.ts): a resent request moves money once.
        await api('post', '/v1/top-ups', {
          idempotent: true, body: { card_id: card || bound[0]!.id, amount_fen: Math.round(Number(amount) * 100), payment_password: password },
        });
        setAmount('');
        setPassword('');
        onDone();
      });
    }}>
      <h2>{t('topUp')}</h2>
      <div className="filters">
        <label className="field"><span>{t('bankCards')}</span>
          <select name="top_up_card" value={card || bound[0]!.id} onChange={(e) => setCard(e.target.value)}>
            {bound.map((c) => <option key={c.id} value={c.id}>{c.bank_name} {c.masked_number}</option>)}
          </select>
        </label>
        <Field label={t('lab.amount')} name="top_up_amount" value={amount} onChange={setAmount} inputMode="numeric" />
        <Field label={t('paymentPassword')} name="top_up_password" type="password" value={password} onChange={setPassword} inputMode="numeric" autoComplete="off" />
        <button type="submit" className="primary" disabled={action.busy}>{t('topUp')}</button>
      </div>
      <ErrorLine error={action.error} />
    </form>
  );
}

function TransactionDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const tx = useLoad(() => api('get', '/v1/transactions/{id}', { path: `/v1/transactions/${id}` }), [id]);
  const d: Transaction | undefined = tx.data;
  return (
    <section className="card" aria-label={t('detail')}>
      <ErrorLine error={tx.error} />
      {d && (
        <dl className="detail">
          <dt>{t('traceId')}</dt><dd>{d.trace_id}</dd>
          <dt>{t('txStatus')}</dt><dd>{d.status}</dd>
          <dt>{t('amount')}</dt><dd>{yuan(d.amount_fen)} {d.currency}</dd>
          <dt>{t('payer')}</dt><dd>{d.payer.name} {d.payer.account}</dd>
          <dt>{t('payee')}</dt><dd>{d.payee.name} {d.payee.account}</dd>
          <dt>{t('channel')}</dt><dd>{d.channel}</dd>
          <dt>{t('fundingSource')}</dt><dd>{d.funding_source}</dd>
          <dt>{t('interfaceType')}</dt><dd>{d.interface_type}</dd>
          <dt>{t('authorization')}</dt><dd>{d.authorization.method} ({d.authorization.factors})</dd>
          <dt>{t('time')}</dt><dd>{d.created_at}</dd>
        </dl>
      )}
    </section>
  );
}

function PaymentAccount() {
  const { t } = useTranslation();
  const account = useLoad(() => api('get', '/v1/payment-account').catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))));
  if (account.error) return <ErrorLine error={account.error} />;
  if (account.data === undefined) return <p>{t('loading')}</p>;
  if (account.data === null) return <OpenAccount onOpened={account.reload} />;
  const a = account.data;
  return (
    <section className="card">
      <dl className="detail">
        <dt>{t('holderName')}</dt><dd>{a.holder_name_masked}</dd>
        <dt>{t('idNumber')}</dt><dd>{a.id_number_masked}</dd>
        <dt>{t('accountClass')}</dt><dd data-testid="account-class">{a.class}</dd>
        <dt>{t('deviceStatus')}</dt><dd>{t(`status.${a.status}`)}</dd>
        <dt>{t('balancePayments')}</dt><dd>{yuan(a.limits.balance_payments.limit_fen)} ({a.limits.balance_payments.period})</dd>
        <dt>{t('dailyOneFactor')}</dt><dd>{yuan(a.limits.daily.fewer_than_two_factors_fen)}</dd>
        <dt>{t('dailyTwoFactors')}</dt><dd>{yuan(a.limits.daily.two_factors_fen)}</dd>
        <dt>{t('amlComplete')}</dt><dd>{a.aml_complete ? t('yes') : t('no')}</dd>
        <dt>{t('channels')}</dt><dd>{a.channels.map((c) => `${c.bank_name} ${c.card_kind} ${c.card_last4}`).join(', ')}</dd>
        <dt>{t('openedAt')}</dt><dd>{a.opened_at}</dd>
      </dl>
    </section>
  );
}

function OpenAccount({ onOpened }: { onOpened: () => void }) {
  const { t } = useTranslation();
  const [form, setForm] = useState({ name: '', id_number: '', card_number: '', reserved_phone: '' });
  const [verification, setVerification] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const set = (key: keyof typeof form) => (value: string) => setForm({ ...form, [key]: value });
  return (
    <section className="card narrow">
      <h2>{t('openAccount')}</h2>
      {!verification ? (
        <form onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => setVerification((await api('post', '/v1/payment-account/applications', { body: form })).verification_id));
        }}>
          <Field label={t('holderName')} name="name" value={form.name} onChange={set('name')} autoComplete="name" />
          <Field label={t('idNumber')} name="id_number" value={form.id_number} onChange={set('id_number')} />
          <Field label={t('cardNumber')} name="card_number" value={form.card_number} onChange={set('card_number')} inputMode="numeric" />
          <Field label={t('reservedPhone')} name="reserved_phone" value={form.reserved_phone} onChange={set('reserved_phone')} inputMode="tel" />
          <ErrorLine error={action.error} />
          <button type="submit" className="primary" disabled={action.busy}>{t('apply')}</button>
        </form>
      ) : (
        <form onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            await api('post', '/v1/payment-account', { body: { verification_id: verification, sms_code: code, payment_password: password } });
            onOpened();
          });
        }}>
          <Notice text={t('codeSent', { phone: form.reserved_phone })} />
          <Field label={t('smsCode')} name="account_sms_code" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" />
          <Field label={t('paymentPassword')} name="payment_password" type="password" value={password} onChange={setPassword} inputMode="numeric" autoComplete="new-password" />
          <ErrorLine error={action.error} />
          <button type="submit" className="primary" disabled={action.busy}>{t('openAccount')}</button>
        </form>
      )}
    </section>
  );
}

function Security({ onLoggedOut }: { onLoggedOut: () => void }) {
  const { t } = useTranslation();
  const sessions = useLoad(() => api('get', '/v1/sessions'));
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  const others = sessions.data?.data.filter((s) => !s.current) ?? [];
  return (
    <section className="card">
      <h2>{t('sessions')}</h2>
      <ErrorLine error={sessions.error ?? action.error} />
      <ul className="list">
        {sessions.data?.data.map((s) => (
          <li key={s.id}>{s.user_agent ?? '—'} · {s.ip ?? '—'} · {t('lastUsed')} {s.last_seen_at}{s.current ? ` · ${t('current')}` : ''}</li>
        ))}
      </ul>
      <button type="button" disabled={others.length === 0 || action.busy} onClick={() => void action.run(async () => {
        for (const s of others) await api('delete', '/v1/sessions/{id}', { path: `/v1/sessions/${s.id}` });
        setDone(t('loggedOutElsewhere', { n: others.length }));
        sessions.reload();
      })}>{t('logOutElsewhere')}</button>
      <Notice text={done} />
      {session.get() === null && <button type="button" onClick={onLoggedOut}>{t('logIn')}</button>}
    </section>
  );
}
