// Browser test of moderation and the admin console against a running platform
// (driven by tests/platform/test_web_ui_console.py).
//
// Through the API: an owner uploads an image (single PUT) and waits until it is
// ready; another user reports it. In the browser: an admin (a dev token with
// the admin role, pasted) re-runs its thumbnails from #/admin (the file's history
// then has a second thumbnail.generated), opens #/moderation, sees the report, takes
// the file down with a reason; opens #/admin (users, files, processing, audit, and the
// storage and usage charts, the platform's then the owner's). The
// owner then sees the file as taken down, with the reason.
//
// Environment: WEBUI_BASE_URL, WEBUI_IMAGE (required), WEBUI_SCREENSHOTS
// (folder for moderation.png, admin.png, admin-charts.png and taken-down.png), WEBUI_TIMEOUT_S
// (per wait, default 240), CHROMIUM (default /usr/bin/chromium).
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { chromium } from 'playwright-core'

const env = process.env
const base = env.WEBUI_BASE_URL
const image = env.WEBUI_IMAGE
if (!base || !image) {
  console.error('set WEBUI_BASE_URL and WEBUI_IMAGE')
  process.exit(2)
}
const timeout = Number(env.WEBUI_TIMEOUT_S ?? 240) * 1000
const shots = env.WEBUI_SCREENSHOTS
const run = Date.now().toString(36)
const owner = `owner-${run}`
const reason = `copyright complaint ${run}`
const step = (text) => console.log(`step: ${text}`)

async function api(method, path, token, body) {
  const response = await fetch(new URL(path, base), {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return text ? JSON.parse(text) : null
}

const token = async (sub, admin = false) => (await api('POST', '/v1/dev/token', null, { sub, admin })).token

async function until(what, check) {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
})
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
page.setDefaultTimeout(timeout)
page.on('dialog', (dialog) => void dialog.accept(dialog.type() === 'prompt' ? reason : undefined))

async function signIn(jwt) {
  // The token lives in memory only: a fresh load is signed out.
  await page.goto('about:blank')
  await page.goto(base)
  await page.fill('#token', jwt)
  await page.click('#token-form button[type=submit]')
  await page.waitForSelector('#user')
}

async function main() {
  step(`${owner} uploads ${basename(image)} through the API`)
  const ownerToken = await token(owner)
  const bytes = readFileSync(image)
  const opened = await api('POST', '/v1/uploads', ownerToken, { filename: basename(image), size: bytes.length, content_type: 'image/jpeg' })
  const put = await fetch(opened.upload.url, { method: opened.upload.method, headers: opened.upload.headers, body: bytes })
  if (!put.ok) throw new Error(`PUT: ${put.status}`)
  await api('POST', `/v1/uploads/${opened.session_id}/complete`, ownerToken, {})
  const fileId = opened.file_id
  // The catalog learns of the upload from the bus: 404 until its ingest has it.
  await until('the image is ready', async () => {
    const response = await fetch(new URL(`/v1/files/${fileId}`, base), { headers: { Authorization: `Bearer ${ownerToken}` } })
    if (response.status === 404) return false
    if (!response.ok) throw new Error(`GET /v1/files/${fileId}: ${response.status} ${await response.text()}`)
    return (await response.json()).file.status === 'ready'
  })

  step('another user reports it')
  await api('POST', `/v1/files/${fileId}/reports`, await token(`reporter-${run}`), { reason: 'not theirs to share' })

  step('an admin re-runs its thumbnails from the admin console')
  await signIn(await token(`admin-${run}`, true))
  await page.click('#nav-admin')
  await page.fill('#admin-filters input[name=owner]', owner)
  await page.click('#admin-filters button[type=submit]')
  await page.locator(`#admin-files tr[data-file="${fileId}"] button.rerun-thumbnails`).click()
  await page.locator('#admin-notice', { hasText: 'requested' }).waitFor()
  const generated = async () => (await api('GET', `/v1/files/${fileId}/history`, ownerToken)).events
    .filter((e) => e.type === 'thumbnail.generated.v1').length
  await until('the thumbnails are made again', async () => (await generated()) === 2)

  step('an admin takes it down from the moderation queue')
  await page.click('#nav-moderation')
  const row = page.locator(`#report-queue tr[data-report]`, { hasText: owner })
  await row.waitFor()
  if (shots) await page.screenshot({ path: join(shots, 'moderation.png'), fullPage: true })
  await row.locator('button.takedown').click()
  await until('the report is actioned', async () =>
    (await api('GET', `/v1/files/${fileId}`, ownerToken).then(() => false, (e) => String(e).includes('451'))))

  step('the admin console')
  await page.click('#nav-admin')
  await page.fill('#admin-filters input[name=owner]', owner)
  await page.click('#admin-filters button[type=submit]')
  await page.locator('#admin-files tr', { hasText: 'taken down' }).waitFor()
  await page.locator('#admin-usage tr', { hasText: owner }).waitFor()
  await page.locator('#admin-audit tr', { hasText: 'file.taken_down.v1' }).first().waitFor()
  // Dead letters: through the edge to the gateway's api, as its `deadletters` identity.
  await page.locator('#dead-letters tr', { hasText: 'No dead letters' }).waitFor()
  if (await page.textContent('#dlq-error')) throw new Error(`dead letters: ${await page.textContent('#dlq-error')}`)
  if (shots) await page.screenshot({ path: join(shots, 'admin.png'), fullPage: true })

  step('storage and usage over time, as charts')
  await page.locator('#storage-chart').waitFor()
  await page.locator('#usage-chart').waitFor()
  await until('the platform caption', async () => /The platform: \d+ uploads?,/.test(await page.locator('#admin-usage-caption').textContent()))
  await page.locator('#admin-usage tr', { hasText: owner }).locator('a').first().click()
  await until("the owner's usage chart", async () => (await page.locator('#admin-usage-caption').textContent()).includes(`User ${owner}: 1 upload,`))
  if (shots) {
    // The sticky header would sit over an element scrolled into view: out of the way.
    // (CSSOM, which the page's CSP allows; an injected style tag it refuses.)
    await page.locator('header').evaluate((e) => { e.style.position = 'static' })
    await page.locator('#admin-over-time').screenshot({ path: join(shots, 'admin-charts.png') })
  }

  step('the owner sees it taken down, with the reason')
  await signIn(ownerToken)
  await page.goto(`${base}#/files/${fileId}`)
  const notice = await page.locator('#taken-down').textContent()
  if (!notice.includes(reason)) throw new Error(`the owner's notice: ${notice}`)
  if (shots) await page.screenshot({ path: join(shots, 'taken-down.png') })
  console.log(`owner sees: ${notice}`)
  console.log('console-e2e: ok')
}

try {
  await main()
} finally {
  await browser.close()
}
