// One page per area, chosen by the path the platform served: the user centre at /, the lab at
// /lab (sandbox only: the platform answers 404 there in production), the ops console at /ops.
// The lab and the console load as their own chunks, so the user centre's first load stays small.
import { lazy, Suspense } from 'react';
import { useTranslation } from 'react-i18next';
import { UserCentre } from './UserCentre.tsx';

const Lab = lazy(() => import('./Lab.tsx'));
const Ops = lazy(() => import('./Ops.tsx'));

export function App() {
  const { t } = useTranslation();
  const path = window.location.pathname.replace(/\/+$/, '') || '/';
  const page = path === '/' ? <UserCentre /> : path === '/lab' ? <Lab /> : path === '/ops' ? <Ops /> : <main><h1>{t('notFound')}</h1></main>;
  return <Suspense fallback={<p>{t('loading')}</p>}>{page}</Suspense>;
}
