// The ops console waits for staff accounts (issue 17, branch i17-staff): no staff login API exists yet.
import { useTranslation } from 'react-i18next';
import { Shell } from './ui.tsx';

export default function Ops() {
  const { t } = useTranslation();
  return (
    <Shell title={t('ops.title')}>
      <h1>{t('ops.title')}</h1>
      <p className="placeholder">{t('ops.waits')}</p>
    </Shell>
  );
}
