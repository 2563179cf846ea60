// Small shared pieces: a data hook, a labelled field, an error line, the page shell.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from './api.ts';
import { setLanguage } from './i18n.ts';

export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data: T | undefined; error: string | null; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((value) => live && (setData(value), setError(null)), (e: unknown) => live && setError(message(e)));
    return () => {
      live = false;
    };
  }, [tick, ...deps]); // eslint-disable-line react-hooks/exhaustive-deps
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

export function message(error: unknown): string {
  return error instanceof ApiError || error instanceof Error ? error.message : String(error);
}

export function Field(props: { label: string; name: string; value: string; onChange: (v: string) => void; type?: string;
  autoComplete?: string; inputMode?: 'numeric' | 'text' | 'tel'; required?: boolean }) {
  return (
    <label className="field">
      <span>{props.label}</span>
      <input name={props.name} value={props.value} type={props.type ?? 'text'} autoComplete={props.autoComplete ?? 'off'}
        inputMode={props.inputMode} required={props.required ?? true} onChange={(e) => props.onChange(e.target.value)} />
    </label>
  );
}

export function ErrorLine({ error }: { error: string | null | undefined }) {
  return error ? <p className="error" role="alert">{error}</p> : null;
}

export function Notice({ text }: { text: string | null }) {
  return text ? <p className="notice" role="status">{text}</p> : null;
}

/** Runs an action, keeping its error for display; answers whether it succeeded. */
export function useAction(): { busy: boolean; error: string | null; run: (action: () => Promise<unknown>) => Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}

export function Shell(props: { title: string; nav?: ReactNode; children: ReactNode; right?: ReactNode }) {
  const { t, i18n } = useTranslation();
  return (
    <>
      <header className="top">
        <a className="brand" href="/">{t('brand')}</a>
        <span className="page-title">{props.title}</span>
        <span className="top-right">
          {props.right}
          <button type="button" className="link" lang={i18n.language === 'en' ? 'zh-CN' : 'en'} title={t('switchLanguage')}
            onClick={() => setLanguage(i18n.language === 'en' ? 'zh' : 'en')}>{t('language')}</button>
        </span>
      </header>
      {props.nav}
      <main id="main">{props.children}</main>
    </>
  );
}
