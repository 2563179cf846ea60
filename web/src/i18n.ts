// Every string of the web goes through i18next: Chinese by default, English switchable; the
// choice is kept in localStorage and sent to the API as Accept-Language.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';

const zh = {
  brand: '小米支付', language: 'English', switchLanguage: '切换到英文', nav: '主导航',
  logIn: '登录', logOut: '退出登录', signUp: '注册', phone: '手机号', password: '登录密码', nickname: '昵称',
  smsCode: '短信验证码', sendCode: '获取验证码', codeSent: '验证码已发送到 {{phone}}', haveAccount: '已有账号？登录',
  noAccount: '没有账号？注册', smsLoginWaits: '短信验证码登录：平台尚无此接口（见报告），请用密码登录。',
  loggedInAs: '{{name}}，你好', loading: '加载中…', error: '出错了', save: '保存', cancel: '取消', confirm: '确认',
  close: '关闭', refresh: '刷新', none: '暂无',
  'section.overview': '首页', 'section.devices': '设备', 'section.cards': '卡片', 'section.history': '余额与账单',
  'section.account': '支付账户', 'section.security': '账号安全', 'section.privacy': '隐私中心', 'section.support': '客服与投诉',
  comingWith: '此页面将随第 {{n}} 号议题上线（{{branch}}）。',
  devices: '我的设备', deviceStatus: '状态', 'status.active': '正常', 'status.disabled': '已停用', 'status.deleted': '已删除',
  'status.suspended': '已暂停', 'status.pending': '待激活', 'status.frozen': '已冻结', 'status.closed': '已注销',
  turnOff: '关闭小米支付（手机丢失）', turnOffConfirm: '确认关闭这台手机上的小米支付？所有设备卡将立即暂停。',
  turnOn: '重新开启小米支付', turnOnHelp: '输入登录密码以重新开启', turnedOff: '已关闭小米支付', turnedOn: '已重新开启小米支付',
  deviceCards: '设备卡', bankCards: '银行卡', transitCards: '交通卡', doorCards: '门禁卡', suspend: '暂停', resume: '恢复',
  delete: '删除', deleteConfirm: '确认删除这张设备卡？删除后不可恢复。', balance: '余额', trips: '行程', noTrips: '暂无行程',
  ending: '尾号 {{last4}}', onDevice: '在 {{model}} 上',
  history: '交易记录', filterType: '类型', filterFrom: '起始日期', filterTo: '截止日期', all: '全部', downloadCsv: '下载 CSV',
  'type.top_up': '充值', 'type.withdrawal': '提现', 'type.transfer': '转账', 'type.payment': '付款', 'type.refund': '退款',
  amount: '金额', time: '时间', detail: '详情', payer: '付款方', payee: '收款方', channel: '渠道', fundingSource: '资金来源',
  authorization: '验证方式', traceId: '交易流水号', interfaceType: '接口类型', txStatus: '交易状态',
  noAccountYet: '尚未开通支付账户', openAccount: '开通支付账户', holderName: '姓名', idNumber: '身份证号', cardNumber: '银行卡号',
  reservedPhone: '银行预留手机号', paymentPassword: '支付密码（6 位数字）', apply: '提交', accountClass: '账户类别',
  limits: '限额', balancePayments: '余额支付限额', dailyOneFactor: '单日限额（少于两类验证）', dailyTwoFactors: '单日限额（两类验证）',
  amlComplete: '反洗钱资料完整', yes: '是', no: '否', channels: '验证渠道', openedAt: '开通时间',
  sessions: '登录设备', current: '当前', lastUsed: '最近使用', logOutElsewhere: '在其他设备上退出', loggedOutElsewhere: '已退出 {{n}} 个其他会话',
  // the lab
  'lab.title': '实验室', 'lab.intro': '真实的虚拟手机与终端（沙箱）：一次"碰一碰"即是 APDU 交换、ISO 8583 授权与银行扣款。',
  'lab.needLogin': '请先在用户中心登录，再来实验室。', 'lab.goLogin': '去登录', 'lab.phone': '手机', 'lab.newPhone': '新建一台实验手机',
  'lab.passwordForPhone': '登录密码（手机用它登录你的账号）', 'lab.cards': '卡列表', 'lab.addCard': '添加银行卡到手机',
  'lab.cardPick': '银行卡（卡号后四位或卡 ID）', 'lab.finger': '按下指纹', 'lab.armed': '已就绪，{{s}} 秒内碰一碰',
  'lab.notArmed': '未就绪：选择卡片并按指纹', 'lab.offline': '离线', 'lab.online': '在线', 'lab.sync': '同步',
  'lab.keysLeft': '剩余离线密钥 {{n}}', 'lab.pos': 'POS 机', 'lab.amount': '金额（元）', 'lab.tap': '碰一碰（或把手机拖到终端上）',
  'lab.pin': '请输入密码', 'lab.receipt': '小票', 'lab.trace': '交易追踪', 'lab.approved': '交易成功', 'lab.declined': '交易被拒绝',
  'lab.history': '手机上的交易', 'lab.bankDesk': '沙箱银行柜台：开一张测试卡', 'lab.issue': '开卡', 'lab.issued': '已开卡：{{card}}',
  'lab.gate': '地铁闸机', 'lab.door': '门禁读卡器', 'lab.expressComing': '交通卡与门禁卡的闸机、读卡器尚未接入实验室（见报告）。',
  'lab.dropHere': '把手机拖到这里', 'lab.digits': '键盘', 'lab.clear': '清除', 'lab.fingerprintButton': '指纹',
  'lab.smsSentTo': '验证码已发送到预留手机 {{phone}}', 'lab.latestSms': '沙箱短信', 'lab.confirmCard': '确认添加',
  'ops.title': '运营控制台', 'ops.waits': '员工账号（含 TOTP 登录）随第 17 号议题（i17-staff）上线；控制台届时接入。',
  'notFound': '页面不存在',
};

type Strings = Record<keyof typeof zh, string>;

const en: Strings = {
  brand: 'Mi Pay', language: '中文', switchLanguage: 'Switch to Chinese', nav: 'Main navigation',
  logIn: 'Log in', logOut: 'Log out', signUp: 'Sign up', phone: 'Phone number', password: 'Password', nickname: 'Nickname',
  smsCode: 'SMS code', sendCode: 'Send code', codeSent: 'Code sent to {{phone}}', haveAccount: 'Have an account? Log in',
  noAccount: 'No account? Sign up', smsLoginWaits: 'Logging in with an SMS code: the platform has no such API yet (see the report); use your password.',
  loggedInAs: 'Hello, {{name}}', loading: 'Loading…', error: 'Something went wrong', save: 'Save', cancel: 'Cancel', confirm: 'Confirm',
  close: 'Close', refresh: 'Refresh', none: 'None yet',
  'section.overview': 'Home', 'section.devices': 'Devices', 'section.cards': 'Cards', 'section.history': 'Balance & history',
  'section.account': 'Payment account', 'section.security': 'Security', 'section.privacy': 'Privacy centre', 'section.support': 'Support',
  comingWith: 'This page comes with issue {{n}} ({{branch}}).',
  devices: 'My devices', deviceStatus: 'Status', 'status.active': 'Active', 'status.disabled': 'Turned off', 'status.deleted': 'Deleted',
  'status.suspended': 'Suspended', 'status.pending': 'Pending', 'status.frozen': 'Frozen', 'status.closed': 'Closed',
  turnOff: 'Turn Mi Pay off (phone lost)', turnOffConfirm: 'Turn Mi Pay off on this phone? Every device card on it is suspended at once.',
  turnOn: 'Turn Mi Pay back on', turnOnHelp: 'Enter your password to turn it back on', turnedOff: 'Mi Pay is off', turnedOn: 'Mi Pay is on again',
  deviceCards: 'Device cards', bankCards: 'Bank cards', transitCards: 'Transit cards', doorCards: 'Door cards', suspend: 'Suspend', resume: 'Resume',
  delete: 'Delete', deleteConfirm: 'Delete this device card? This cannot be undone.', balance: 'Balance', trips: 'Trips', noTrips: 'No trips yet',
  ending: 'ending {{last4}}', onDevice: 'on {{model}}',
  history: 'Transactions', filterType: 'Type', filterFrom: 'From', filterTo: 'To', all: 'All', downloadCsv: 'Download CSV',
  'type.top_up': 'Top-up', 'type.withdrawal': 'Withdrawal', 'type.transfer': 'Transfer', 'type.payment': 'Payment', 'type.refund': 'Refund',
  amount: 'Amount', time: 'Time', detail: 'Details', payer: 'Payer', payee: 'Payee', channel: 'Channel', fundingSource: 'Funded by',
  authorization: 'Verified by', traceId: 'Trace id', interfaceType: 'Interface', txStatus: 'Status',
  noAccountYet: 'No payment account yet', openAccount: 'Open the payment account', holderName: 'Name', idNumber: 'ID number', cardNumber: 'Bank card number',
  reservedPhone: 'Phone reserved at the bank', paymentPassword: 'Payment password (6 digits)', apply: 'Submit', accountClass: 'Account class',
  limits: 'Limits', balancePayments: 'Balance payments limit', dailyOneFactor: 'Daily limit (fewer than two factors)', dailyTwoFactors: 'Daily limit (two factors)',
  amlComplete: 'AML data complete', yes: 'Yes', no: 'No', channels: 'Verification channels', openedAt: 'Opened',
  sessions: 'Sessions', current: 'This one', lastUsed: 'Last used', logOutElsewhere: 'Log out everywhere else', loggedOutElsewhere: 'Logged out {{n}} other sessions',
  'lab.title': 'Lab', 'lab.intro': 'Real virtual phones and terminals (sandbox): a tap is an APDU exchange, an ISO 8583 authorization and a bank debit.',
  'lab.needLogin': 'Log in at the user centre first, then come back to the lab.', 'lab.goLogin': 'Log in', 'lab.phone': 'Phone', 'lab.newPhone': 'New lab phone',
  'lab.passwordForPhone': 'Password (the phone logs in to your account with it)', 'lab.cards': 'Cards', 'lab.addCard': 'Add a bank card to the phone',
  'lab.cardPick': 'Bank card (last 4 digits or card id)', 'lab.finger': 'Press fingerprint', 'lab.armed': 'Ready: tap within {{s}} s',
  'lab.notArmed': 'Not ready: pick a card and press the fingerprint', 'lab.offline': 'Offline', 'lab.online': 'Online', 'lab.sync': 'Sync',
  'lab.keysLeft': '{{n}} offline keys left', 'lab.pos': 'POS', 'lab.amount': 'Amount (yuan)', 'lab.tap': 'Tap (or drag the phone onto a terminal)',
  'lab.pin': 'Enter PIN', 'lab.receipt': 'Receipt', 'lab.trace': 'Trace', 'lab.approved': 'Approved', 'lab.declined': 'Declined',
  'lab.history': 'Payments on this phone', 'lab.bankDesk': 'Sandbox bank desk: issue a test card', 'lab.issue': 'Issue', 'lab.issued': 'Issued: {{card}}',
  'lab.gate': 'Metro gate', 'lab.door': 'Door reader', 'lab.expressComing': 'The gate and the door reader are not in the lab yet (see the report).',
  'lab.dropHere': 'Drop the phone here', 'lab.digits': 'Keypad', 'lab.clear': 'Clear', 'lab.fingerprintButton': 'Fingerprint',
  'lab.smsSentTo': 'Code sent to the reserved phone {{phone}}', 'lab.latestSms': 'Sandbox SMS', 'lab.confirmCard': 'Confirm',
  'ops.title': 'Ops console', 'ops.waits': 'Staff accounts (with TOTP login) come with issue 17 (i17-staff); the console connects then.',
  'notFound': 'Page not found',
};

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
