// Browser test of signing in through the identity service (driven by
// tests/platform/test_web_ui_identity.py, or by hand: see ../README.md).
//
// Debian's chromium, headless, through playwright-core. A new person signs up,
// reads the verification mail from the Maildir sink, opens its link, signs in
// (authorization code + PKCE through the real identity service), uploads a file
// and sees it in the library, creates a personal access token on the account
// page (shown once) and revokes it, then signs out (refresh token revoked,
// identity's session ended), resets the password from the mailed link and
// signs in with the new one. The dev admin `just up` created signs in too.
//
// Environment: WEBUI_BASE_URL, WEBUI_MAILDIR, WEBUI_IMAGE (required);
// WEBUI_ADMIN_EMAIL + WEBUI_ADMIN_PASSWORD_FILE (the dev admin, optional);
// WEBUI_DEV_MODE (`0`: the user-name box must be absent, `1`: present);
// WEBUI_ONLY=dev-mode (only that check); WEBUI_SCREENSHOTS (signin.png,
// account.png); WEBUI_ARTIFACTS; WEBUI_TIMEOUT_S (default 120); CHROMIUM.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { chromium } from 'playwright-core'

const env = process.env
const base = (env.WEBUI_BASE_URL ?? '').replace(/\/$/, '')
const maildir = env.WEBUI_MAILDIR
const image = env.WEBUI_IMAGE
const only = env.WEBUI_ONLY
if (!base || (!only && (!maildir || !image))) {
  console.error('set WEBUI_BASE_URL, WEBUI_MAILDIR and WEBUI_IMAGE')
  process.exit(2)
}
const timeout = Number(env.WEBUI_TIMEOUT_S ?? 120) * 1000
const shots = env.WEBUI_SCREENSHOTS
const artifacts = env.WEBUI_ARTIFACTS
const email = `person-${Date.now().toString(36)}@example.org`
const password = `correct horse ${Date.now().toString(36)} battery`
const step = (text) => console.log(`step: ${text}`)

const browser = await chromium.launch({
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
const page = await context.newPage()
page.setDefaultTimeout(timeout)
const consoleErrors = []
page.on('console', (msg) => {
  // A signed-out page asks identity who is signed in: its 401 is expected.
  if (msg.type() === 'error' && !/status of 40[14]/.test(msg.text())) consoleErrors.push(msg.text())
})
page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`))
// No request may carry a bearer token (or any token) in its URL.
const tokenInUrl = []
page.on('request', (request) => {
  const url = new URL(request.url())
  for (const name of ['access_token', 'refresh_token', 'id_token', 'token']) {
    if (url.searchParams.has(name)) tokenInUrl.push(`${url.pathname}?${name}=`)
  }
  if (/eyJ[\w-]+\.eyJ/.test(request.url())) tokenInUrl.push(url.pathname)
})

/** The newest mail to `to` in the Maildir (new/ and cur/), decoded. */
function newestMail(to) {
  const files = ['new', 'cur'].flatMap((sub) => {
    const dir = join(maildir, sub)
    try {
      return readdirSync(dir).map((name) => join(dir, name))
    } catch {
      return []
    }
  })
  const mails = files
    .map((path) => ({ path, text: readFileSync(path, 'utf8'), mtime: statSync(path).mtimeMs }))
    .filter((mail) => new RegExp(`^To: ${to.replace(/[.+]/g, '\\$&')}$`, 'mi').test(mail.text))
    .sort((a, b) => a.mtime - b.mtime)
  const mail = mails.at(-1)
  if (!mail) return null
  const [head, ...rest] = mail.text.split(/\r?\n\r?\n/)
  let body = rest.join('\n\n')
  if (/^Content-Transfer-Encoding: quoted-printable/mi.test(head)) {
    body = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)))
  } else if (/^Content-Transfer-Encoding: base64/mi.test(head)) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  }
  return body
}

async function waitForMail(to, page) {
  const deadline = Date.now() + timeout
  while (Date.now() < deadline) {
    const body = newestMail(to)
    if (body && body.includes(`/#/${page}?token=`)) return body
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`no ${page} mail to ${to} in ${maildir}`)
}

/** Open the sign-in page and wait until it has asked the server whether dev mode is on. */
async function openSignIn() {
  const asked = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/dev')
  await page.goto(`${base}/`)
  await page.waitForSelector('#password-form')
  const answer = await asked
  await page.waitForLoadState('networkidle')
  return answer.status()
}

async function checkDevMode() {
  const expected = env.WEBUI_DEV_MODE
  const status = await openSignIn()
  const boxes = await page.locator('#user-name').count()
  console.log(`dev mode: GET /v1/dev ${status}, user-name boxes ${boxes}`)
  if (expected === '0' && (status !== 404 || boxes !== 0)) throw new Error('the user-name box shows with dev mode off')
  if (expected === '1' && (status !== 200 || boxes !== 1)) throw new Error('no user-name box in dev mode')
  if (expected === '0') {
    const minted = await page.evaluate(async () =>
      (await fetch('/v1/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"sub":"mallory"}' })).status)
    if (minted !== 404) throw new Error(`POST /v1/dev/token answered ${minted} with dev mode off`)
    console.log('dev mode off: no user-name box, POST /v1/dev/token 404')
  }
}

async function signIn(who, secret) {
  await openSignIn()
  await page.fill('#signin-email', who)
  await page.fill('#signin-password', secret)
  await page.click('#signin-submit')
  // identity's /oauth/authorize, then /callback with the code, then the library.
  await page.waitForURL((url) => url.pathname === '/' && url.hash.startsWith('#/library'))
  await page.waitForSelector(`#user:has-text("${who}")`)
  const storage = await page.evaluate(() => ({ ...sessionStorage, ...localStorage }))
  const accessInStorage = Object.entries(storage).filter(([key, value]) => key !== 'mediaplane.id_token' && /^eyJ[\w-]+\.eyJ/.test(value) && key !== 'mediaplane.refresh')
  if (accessInStorage.length) throw new Error(`an access token in web storage: ${accessInStorage.map(([k]) => k)}`)
  if (!storage['mediaplane.refresh']) throw new Error('no refresh token after the code exchange')
  console.log(`signed in as ${who} (code + PKCE), access token in memory only`)
}

async function main() {
  await checkDevMode()
  if (only === 'dev-mode') return
  if (shots) {
    mkdirSync(shots, { recursive: true })
    await page.screenshot({ path: join(shots, 'signin.png') })
  }

  step(`sign up as ${email}`)
  await page.click('#signup-link')
  await page.fill('#signup-email', email)
  await page.fill('#signup-password', password)
  await page.click('#signup-submit')
  await page.waitForSelector('#signup-result:has-text("Check your email")')

  step('read the verification mail from the Maildir and open its link')
  const mail = await waitForMail(email, 'verify-email')
  const link = /Or open: (\S+)/.exec(mail)?.[1]
  if (!link || !link.startsWith(`${base}/#/verify-email?token=`)) throw new Error(`no web link in the mail:\n${mail}`)
  await page.goto(link)
  await page.waitForSelector('#verify-result[data-state=verified]')
  if (page.url().includes('token=')) throw new Error('the verification code stayed in the address bar')
  console.log('email verified from the mailed link')

  step('sign in (authorization code + PKCE through identity)')
  await signIn(email, password)

  step(`upload ${basename(image)} and see it in the library`)
  await page.click('header nav a[href="#/upload"]')
  await page.waitForSelector('.uppy-Dashboard')
  await page.setInputFiles('.uppy-Dashboard-input[type=file] >> nth=0', [image])
  await page.click('.uppy-StatusBar-actionBtn--upload')
  await page.waitForSelector('.uppy-StatusBar.is-complete')
  await page.click('header nav a[href="#/library"]')
  await page.waitForSelector(`.card:has-text("${basename(image)}")`)
  console.log('uploaded and listed with an identity-issued token')

  step('account page: profile, sessions; create a personal access token and revoke it')
  await page.click('#user')
  await page.waitForSelector(`#profile-email:has-text("${email}")`)
  await page.waitForSelector('#sessions tr')
  await page.fill('#token-name', 'e2e script')
  await page.check('input[name=scope][value="uploads:write"]')
  await page.click('#token-create')
  const secret = (await page.textContent('#new-token'))?.trim() ?? ''
  if (!secret.startsWith('mppat_')) throw new Error(`no token shown: ${secret}`)
  const row = page.locator('#tokens tr[data-name="e2e script"]')
  await row.locator('.revoke-token').click()
  await page.waitForSelector('#tokens tr[data-name="e2e script"][data-revoked=true]')
  console.log('personal access token created (shown once) and revoked')

  step('sign out: refresh token revoked, identity session ended')
  const refreshToken = await page.evaluate(() => sessionStorage.getItem('mediaplane.refresh'))
  await page.click('#sign-out')
  await page.waitForSelector('#password-form')
  const after = await page.evaluate(async (token) => {
    const me = await fetch('/v1/account/')
    const refreshed = await fetch('/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: 'web-ui' }),
    })
    return { me: me.status, refresh: refreshed.status, error: (await refreshed.json()).error, stored: sessionStorage.length }
  }, refreshToken)
  if (after.me !== 401 || after.error !== 'invalid_grant' || after.stored !== 0) {
    throw new Error(`not signed out: ${JSON.stringify(after)}`)
  }
  console.log('signed out: session 401, refresh invalid_grant, storage empty')

  step('forgot password: the mailed reset link sets a new one, which signs in')
  await openSignIn()
  await page.click('#forgot-link')
  await page.fill('#forgot-email', email)
  await page.click('#forgot-submit')
  await page.waitForSelector('#forgot-result:has-text("reset link")')
  const resetMail = await waitForMail(email, 'reset-password')
  const resetLink = /Or open: (\S+)/.exec(resetMail)?.[1]
  if (!resetLink || !resetLink.startsWith(`${base}/#/reset-password?token=`)) throw new Error(`no reset link:\n${resetMail}`)
  await page.goto(resetLink)
  const newPassword = `${password} renewed`
  await page.fill('#reset-password', newPassword)
  await page.click('#reset-submit')
  await page.waitForSelector('#reset-result[data-state=done]')
  await signIn(email, newPassword)
  await page.click('#sign-out')
  await page.waitForSelector('#password-form')
  console.log('password reset from the mailed link, signed in with the new one')

  if (env.WEBUI_ADMIN_EMAIL && env.WEBUI_ADMIN_PASSWORD_FILE) {
    step('the dev admin signs in with the password just up kept')
    await signIn(env.WEBUI_ADMIN_EMAIL, readFileSync(env.WEBUI_ADMIN_PASSWORD_FILE, 'utf8').trim())
    await page.click('#user')
    await page.waitForSelector('#profile-role:has-text("admin")')
    await page.waitForSelector('#sessions tr')
    if (shots) await page.screenshot({ path: join(shots, 'account.png'), fullPage: true })
    console.log('dev admin signed in: role admin')
  }
  if (tokenInUrl.length) throw new Error(`tokens in URLs: ${tokenInUrl.join(', ')}`)
}

try {
  await main()
  const blocked = consoleErrors.filter((text) => /Content Security Policy/i.test(text))
  if (blocked.length) throw new Error(`the CSP blocked:\n  ${blocked.join('\n  ')}`)
  if (consoleErrors.length) console.log(`console errors (not fatal):\n  ${consoleErrors.join('\n  ')}`)
  console.log('identity-e2e: ok')
} catch (error) {
  console.error(`identity-e2e: FAILED: ${error?.stack ?? error}`)
  if (consoleErrors.length) console.error(`console errors:\n  ${consoleErrors.join('\n  ')}`)
  if (artifacts) {
    mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true }).catch(() => undefined)
    console.error(`screenshot: ${join(artifacts, 'failure.png')}`)
  }
  process.exitCode = 1
} finally {
  await browser.close()
}
