// Browser half of `mediaplane login` (driven by tests/platform/test_web_ui_identity.py,
// which runs the command and hands over what it printed).
//
// Debian's chromium, headless, through playwright-core, in a fresh browser (signed
// out): opens the verification URI the CLI printed (`/device?user_code=`), signs in
// with a password (code + PKCE through identity, back to the device page with the
// code kept), checks the page shows that code and the client, and approves or
// denies it. After a denial the same link is opened again: the decided code is
// refused with a clear message.
//
// Environment: WEBUI_DEVICE_URL (the printed verification_uri_complete),
// WEBUI_DEVICE_CODE (the printed user code), WEBUI_DEVICE_DECISION (approve|deny),
// WEBUI_EMAIL + WEBUI_PASSWORD_FILE (who signs in); WEBUI_SCREENSHOTS (device.png),
// WEBUI_ARTIFACTS; WEBUI_TIMEOUT_S (default 120); CHROMIUM.
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const env = process.env
const url = env.WEBUI_DEVICE_URL
const userCode = env.WEBUI_DEVICE_CODE
const decision = env.WEBUI_DEVICE_DECISION
const email = env.WEBUI_EMAIL
if (!url || !userCode || !['approve', 'deny'].includes(decision) || !email || !env.WEBUI_PASSWORD_FILE) {
  console.error('set WEBUI_DEVICE_URL, WEBUI_DEVICE_CODE, WEBUI_DEVICE_DECISION, WEBUI_EMAIL and WEBUI_PASSWORD_FILE')
  process.exit(2)
}
const password = readFileSync(env.WEBUI_PASSWORD_FILE, 'utf8').trim()
const timeout = Number(env.WEBUI_TIMEOUT_S ?? 120) * 1000
const shots = env.WEBUI_SCREENSHOTS
const artifacts = env.WEBUI_ARTIFACTS

const browser = await chromium.launch({
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
const context = await browser.newContext({ viewport: { width: 1280, height: 760 } })
const page = await context.newPage()
page.setDefaultTimeout(timeout)
const consoleErrors = []
page.on('console', (msg) => {
  // Signed out, the page asks identity who is signed in (401); a decided code is a 404.
  if (msg.type() === 'error' && !/status of 40[14]/.test(msg.text())) consoleErrors.push(msg.text())
})
page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`))
// No request may carry a bearer token (or any token) in its URL.
const tokenInUrl = []
page.on('request', (request) => {
  const seen = new URL(request.url())
  for (const name of ['access_token', 'refresh_token', 'id_token', 'token']) {
    if (seen.searchParams.has(name)) tokenInUrl.push(`${seen.pathname}?${name}=`)
  }
  if (/eyJ[\w-]+\.eyJ/.test(request.url())) tokenInUrl.push(seen.pathname)
})

const onDevicePage = (at) => at.pathname === '/' && at.hash === `#/device?user_code=${encodeURIComponent(userCode)}`

async function main() {
  await page.goto(url)
  // Signed out: the sign-in page, which returns to the device page with the code.
  await page.waitForSelector('#password-form')
  if (!onDevicePage(new URL(page.url()))) throw new Error(`the code left the address: ${page.url()}`)
  await page.fill('#signin-email', email)
  await page.fill('#signin-password', password)
  await page.click('#signin-submit')
  await page.waitForURL((at) => at.pathname === '/callback' || onDevicePage(at))
  await page.waitForURL(onDevicePage)
  await page.waitForSelector('#device-approve')
  const shown = (await page.textContent('#device-shown-code'))?.trim()
  const client = (await page.textContent('#device-client'))?.trim()
  if (shown !== userCode) throw new Error(`the page shows code ${shown}, the CLI printed ${userCode}`)
  if (client !== 'cli') throw new Error(`the page names the client ${client}`)
  console.log(`signed in as ${email}, back on the device page with code ${shown} from ${client}`)
  if (shots) {
    mkdirSync(shots, { recursive: true })
    await page.screenshot({ path: join(shots, 'device.png') })
  }

  await page.click(decision === 'approve' ? '#device-approve' : '#device-deny')
  const state = decision === 'approve' ? 'approved' : 'denied'
  await page.waitForSelector(`#device-result[data-state="${state}"]`)
  console.log(`device ${state} in the browser`)

  if (decision === 'deny') {
    // The same link again (a reload signs back in with the refresh token): refused, clearly.
    await page.goto(url)
    await page.waitForSelector('#device-result[data-state="failed"]')
    const text = await page.textContent('#device-result')
    if (!/unknown, has expired or was already used/.test(text ?? '')) throw new Error(`unclear refusal: ${text}`)
    if ((await page.locator('#device-approve').count()) !== 0) throw new Error('a decided code offers Approve again')
    console.log('a decided code is refused: unknown, has expired or was already used')
  }
  if (tokenInUrl.length) throw new Error(`a token in a URL: ${tokenInUrl.join(', ')}`)
  if (consoleErrors.length) throw new Error(`console errors: ${consoleErrors.join(' | ')}`)
}

try {
  await main()
  console.log('device-e2e: ok')
} catch (error) {
  console.error(`device-e2e: FAILED ${error instanceof Error ? error.stack : error}`)
  if (artifacts) {
    mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: join(artifacts, 'device-failure.png'), fullPage: true }).catch(() => undefined)
  }
  process.exitCode = 1
} finally {
  await browser.close()
}
