// Browser test of playback analytics (driven by tests/platform/test_web_ui_analytics.py).
//
// Signs in with a development token for an admin (the dev token request gets
// `admin: true` added on its way), uploads a short video, plays it to the end
// with hls.js, and checks that the player's beacons became exactly one view in
// the file's analytics (API and charts), then opens the admin analytics page.
//
// Environment: WEBUI_BASE_URL, WEBUI_VIDEO (required), WEBUI_SCREENSHOTS (folder
// for analytics-file.png and analytics-admin.png), WEBUI_ARTIFACTS,
// WEBUI_TIMEOUT_S (per wait, default 240), CHROMIUM (default /usr/bin/chromium).
import { mkdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { chromium } from 'playwright-core'

const env = process.env
const base = env.WEBUI_BASE_URL
const video = env.WEBUI_VIDEO
if (!base || !video) {
  console.error('set WEBUI_BASE_URL and WEBUI_VIDEO')
  process.exit(2)
}
const user = `e2e-analytics-${Date.now().toString(36)}`
const timeout = Number(env.WEBUI_TIMEOUT_S ?? 240) * 1000
const shots = env.WEBUI_SCREENSHOTS
const artifacts = env.WEBUI_ARTIFACTS
const videoName = basename(video)
const step = (text) => console.log(`step: ${text}`)

const browser = await chromium.launch({
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
})
const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
const page = await context.newPage()
page.setDefaultTimeout(timeout)
const consoleErrors = []
page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()) })
page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`))
// Every beacon batch: its bearer must be in the header, never in the URL.
const beaconPosts = []
page.on('request', (request) => {
  const url = new URL(request.url())
  if (url.pathname === '/v1/analytics/beacons') {
    beaconPosts.push({ url, authorization: request.headers().authorization, body: request.postDataJSON() })
  }
})
await page.route('**/v1/dev/token', (route) => {
  const body = route.request().postDataJSON()
  return route.continue({ postData: JSON.stringify({ ...body, admin: true }) })
})

async function api(path) {
  // The test's own admin token, for the exact numbers.
  const issued = await fetch(new URL('/v1/dev/token', base), {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sub: user, admin: true }),
  }).then((r) => r.json())
  const response = await fetch(new URL(path, base), { headers: { Authorization: `Bearer ${issued.token}` } })
  return { status: response.status, body: await response.json() }
}

async function main() {
  step(`sign in as ${user} (admin)`)
  await page.goto(base)
  await page.fill('#user-name', user)
  await page.click('#signin-form button[type=submit]')
  await page.waitForSelector('#nav-analytics')

  step('upload the video')
  await page.click('header nav a[href="#/upload"]')
  await page.waitForSelector('.uppy-Dashboard')
  await page.setInputFiles('.uppy-Dashboard-input[type=file] >> nth=0', [video])
  await page.click('.uppy-StatusBar-actionBtn--upload')
  await page.waitForSelector('.uppy-StatusBar.is-complete')
  await page.evaluate(() => { location.hash = '#/library' })
  const card = `#library-grid a.card:has(.filename:text-is("${videoName}"))`
  await page.waitForSelector(`${card} [data-role=transcode]:text-is("HLS ready")`)
  await page.click(card)
  const fileId = /#\/files\/([0-9a-f-]{36})/.exec(page.url())[1]
  console.log(`file: ${fileId}`)

  step('play it to the end with hls.js')
  await page.waitForSelector('#player')
  await page.waitForFunction(() => document.querySelectorAll('#quality option').length >= 2)
  await page.evaluate(() => document.querySelector('#player').play())
  await page.waitForFunction(() => document.querySelector('#player').ended)

  step('the view in the file analytics (refresh until the rollup has it)')
  const deadline = Date.now() + timeout
  for (;;) {
    await page.click('#analytics-refresh')
    await page.waitForTimeout(1000)
    const views = await page.$eval('#analytics', (el) => el.querySelector('[data-measure="Views"]')?.textContent ?? '')
    if (views === '1') break
    if (Date.now() > deadline) throw new Error(`the view never showed up (views: ${views})`)
  }
  await page.waitForSelector('#views-chart')
  await page.waitForSelector('#retention-chart')
  const { status, body } = await api(`/v1/analytics/files/${fileId}`)
  if (status !== 200) throw new Error(`analytics: ${status} ${JSON.stringify(body)}`)
  const t = body.totals
  const kinds = beaconPosts.flatMap((p) => p.body.beacons.map((b) => b.kind))
  console.log(`beacons: ${kinds.join(',')}`)
  console.log(`analytics: views=${t.views} viewers=${t.viewers} watch=${t.watch_seconds} startup=${t.average_startup_ms} renditions=${Object.keys(t.rendition_seconds).join('+')} retention@50%=${body.retention[10].percent}`)
  if (t.views !== 1 || t.viewers !== 1) throw new Error(`expected one view: ${JSON.stringify(t)}`)
  if (!(t.watch_seconds > 2)) throw new Error(`watch time: ${t.watch_seconds}`)
  if (!(t.average_startup_ms >= 0)) throw new Error(`no startup time: ${t.average_startup_ms}`)
  if (!Object.keys(t.rendition_seconds).length) throw new Error('no time per rendition')
  if (body.retention[0].percent !== 100 || body.retention[10].percent !== 100) throw new Error(`retention: ${JSON.stringify(body.retention)}`)
  if (kinds[0] !== 'view_start' || kinds[kinds.length - 1] !== 'view_end') throw new Error(`beacon order: ${kinds}`)
  const leaky = beaconPosts.filter((p) => !p.authorization?.startsWith('Bearer ') || p.url.search)
  if (leaky.length) throw new Error('a beacon batch without the bearer header, or with a query string')
  console.log(`beacon batches: ${beaconPosts.length}, each with the bearer in its header and none in its URL`)
  if (shots) {
    mkdirSync(shots, { recursive: true })
    await page.locator('section.analytics').screenshot({ path: join(shots, 'analytics-file.png') })
  }

  step('admin analytics page')
  await page.click('#nav-analytics')
  await page.waitForSelector('#platform-chart')
  await page.waitForSelector(`#worst-files a[href="#/files/${fileId}"]`)
  if (shots) await page.screenshot({ path: join(shots, 'analytics-admin.png'), fullPage: true })
}

try {
  await main()
  const blocked = consoleErrors.filter((text) => /Content Security Policy/i.test(text))
  if (blocked.length) throw new Error(`the CSP blocked:\n  ${blocked.join('\n  ')}`)
  if (consoleErrors.length) console.log(`console errors (not fatal):\n  ${consoleErrors.join('\n  ')}`)
  console.log('analytics-e2e: ok')
} catch (error) {
  console.error(`analytics-e2e: FAILED: ${error?.stack ?? error}`)
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
