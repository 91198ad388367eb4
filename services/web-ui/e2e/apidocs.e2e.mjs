// Browser check of the API reference page (/v1/docs) behind the edge (driven by
// tests/platform/test_edge.py, or by hand: see ../README.md).
//
// Debian's chromium, headless, through playwright-core. Opens /v1/docs under
// the edge's Content-Security-Policy, waits for Swagger UI to render every
// operation of /v1/openapi.json, opens one, and fails on any console error,
// page error, CSP violation or request that leaves the origin (no CDN).
//
// Environment: WEBUI_BASE_URL (required), WEBUI_SCREENSHOTS (folder for
// api-docs.png), WEBUI_TIMEOUT_S (per wait, default 60), CHROMIUM.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const env = process.env
const base = env.WEBUI_BASE_URL
if (!base) {
  console.error('set WEBUI_BASE_URL')
  process.exit(2)
}
const origin = new URL(base).origin
const timeout = Number(env.WEBUI_TIMEOUT_S ?? 60) * 1000

const browser = await chromium.launch({
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
const problems = []
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
  page.setDefaultTimeout(timeout)
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== origin) {
      problems.push(`request leaves the origin: ${request.url()}`)
    }
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`)
    })
  })

  const opened = await page.goto(new URL('/v1/docs', base).href)
  const policy = opened?.headers()['content-security-policy'] ?? ''
  if (!policy.includes("script-src 'self'")) throw new Error(`no CSP on the page: ${policy}`)
  await page.waitForSelector('.opblock-summary')
  const title = await page.textContent('.info .title')
  const operations = await page.locator('.opblock-summary').count()
  console.log(`rendered: ${title?.trim()} with ${operations} operations`)
  if (operations < 16) throw new Error(`only ${operations} operations rendered`)
  // Open one operation: its problem+json responses are shown.
  await page.click('#operations-uploads-V1UploadsOpenUpload .opblock-summary')
  await page.waitForSelector('#operations-uploads-V1UploadsOpenUpload .responses-table')
  const shown = await page.textContent('#operations-uploads-V1UploadsOpenUpload .responses-table')
  if (!shown?.includes('application/problem+json') && !shown?.includes('Problem')) {
    throw new Error('the problem+json responses are not shown')
  }
  if (env.WEBUI_SCREENSHOTS) {
    mkdirSync(env.WEBUI_SCREENSHOTS, { recursive: true })
    // Closed again: the picture shows the overview of every operation.
    await page.click('#operations-uploads-V1UploadsOpenUpload .opblock-summary')
    await page.screenshot({ path: join(env.WEBUI_SCREENSHOTS, 'api-docs.png') })
  }
  if (problems.length) throw new Error(problems.join('\n'))
  console.log('api docs: ok')
} finally {
  await browser.close()
}
