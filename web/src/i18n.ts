// Every string of the web goes through i18next: Chinese by default, English switchable; the
// choice is kept in localStorage and sent to the API as Accept-Language.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, zh } from './strings.ts';

export const languages = ['zh', 'en'] as const;
export type Language = (typeof languages)[number];

const stored = typeof localStorage !== 'undefined' ? localStorage.getItem('mipay.lang') : null;
void i18n.use(initReactI18next).init({
  resources: { zh: { translation: zh }, en: { translation: en } },
  lng: stored === 'en' ? 'en' : 'zh',
  fallbackLng: 'zh',
  interpolation: { escapeValue: false },
});

export function setLanguage(lang: Language): void {
  localStorage.setItem('mipay.lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  void i18n.changeLanguage(lang);
}

document.documentElement.lang = i18n.language === 'en' ? 'en' : 'zh-CN';
export default i18n;
