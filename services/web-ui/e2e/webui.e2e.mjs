// Browser test of the web UI against a running platform (driven by
// tests/platform/test_web_ui.py, or by hand: see ../README.md).
//
// Debian's chromium, headless, through playwright-core (no browser download).
// Signs in with a development token (the dev-mode user-name box), uploads a video (multipart when it is
// larger than the gateway's single-PUT limit) and an image through the Uppy
// dashboard, waits for both thumbnails to appear in the library over the live
// event stream (no reload), pausing and resuming on the way, then opens the video, plays its HLS stream,
// switches quality, checks the MP4 fallback, edits tags and reads the history.
// With WEBUI_AUDIO, also an audio file: played with its waveform, seeked by a
// click on the waveform.
//
// Environment: WEBUI_BASE_URL (required), WEBUI_VIDEO, WEBUI_IMAGE (required),
// WEBUI_AUDIO (optional),
// WEBUI_USER, WEBUI_SCREENSHOTS (folder for library.png and file.png),
// WEBUI_ARTIFACTS (folder for a failure screenshot), WEBUI_TIMEOUT_S (per
// wait, default 240), CHROMIUM (default /usr/bin/chromium).
import { mkdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { chromium } from 'playwright-core'

const env = process.env
const base = env.WEBUI_BASE_URL
const video = env.WEBUI_VIDEO
const image = env.WEBUI_IMAGE
const audio = env.WEBUI_AUDIO
if (!base || !video || !image) {
  console.error('set WEBUI_BASE_URL, WEBUI_VIDEO and WEBUI_IMAGE')
  process.exit(2)
}
const user = env.WEBUI_USER ?? `e2e-${Date.now().toString(36)}`
const timeout = Number(env.WEBUI_TIMEOUT_S ?? 240) * 1000
const shots = env.WEBUI_SCREENSHOTS
const artifacts = env.WEBUI_ARTIFACTS
const runTag = `run-${Date.now().toString(36)}` // this run's files, whatever the user already has
const videoName = basename(video)
const imageName = basename(image)
const audioName = audio ? basename(audio) : null
const uploads = audio ? [video, image, audio] : [video, image]

const step = (text) => console.log(`step: ${text}`)

const browser = await chromium.launch({
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
  ],
})
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
const page = await context.newPage()
page.setDefaultTimeout(timeout)
const consoleErrors = []
page.on('console', (msg) => {
  if (msg.type() === 'error') consoleErrors.push(msg.text())
})
page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`))
// Playlist requests: each must carry the file's playback token, never the bearer token.
const playlistRequests = []
page.on('request', (request) => {
  if (new URL(request.url()).pathname.endsWith('.m3u8')) {
    playlistRequests.push({ url: new URL(request.url()), authorization: request.headers().authorization })
  }
})

async function main() {
  step(`open ${base} and sign in as ${user}`)
  const opened = await page.goto(base)
  // The edge's Content-Security-Policy is on: everything below runs under it.
  const policy = opened?.headers()['content-security-policy'] ?? ''
  if (!policy.includes("script-src 'self'")) throw new Error(`no CSP on the UI: ${policy}`)
  await page.fill('#user-name', user)
  await page.click('#signin-form button[type=submit]')
  await page.waitForSelector('#user')
  // The access token lives in memory only: nothing token-like in web storage.
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))
  if (/eyJ[\w-]+\.eyJ/.test(stored)) throw new Error('a token in web storage after sign-in')

  step('codecs: MSE with H.264/AAC')
  const mse = await page.evaluate(() =>
    typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f,mp4a.40.2"'))
  console.log(`mse h264: ${mse}`)

  step('upload the video and the image through the Uppy dashboard')
  await page.click('header nav a[href="#/upload"]')
  await page.waitForSelector('.uppy-Dashboard')
  await page.fill('#upload-tags', `e2e, holiday, ${runTag}`)
  await page.setInputFiles('.uppy-Dashboard-input[type=file] >> nth=0', uploads)
  await page.waitForSelector('.uppy-StatusBar-actionBtn--upload')
  // Slow uploads down (devtools throttling) so that pausing surely lands mid-upload.
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  const throttle = (bytesPerSecond) => cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  })
  await throttle(256 * 1024)
  // Completions are held until the pause has landed, so that the pause surely
  // finds a small file between its stored bytes and its completion (a resume
  // there once restarted it as multipart), and the video mid-upload.
  const opens = []
  const completions = []
  let completing
  const firstCompletion = new Promise((resolve) => { completing = resolve })
  let release
  const released = new Promise((resolve) => { release = resolve })
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname
    if (request.method() === 'POST' && path === '/v1/uploads') opens.push(path)
  })
  await page.route('**/v1/uploads/*/complete', async (route) => {
    completions.push(new URL(route.request().url()).pathname)
    completing()
    await released
    await route.continue()
  })
  await page.click('.uppy-StatusBar-actionBtn--upload')

  step('pause while a small file completes, then resume (the multipart session resumes from the parts S3 holds)')
  let noCompletion
  const gaveUp = new Promise((_, reject) => {
    noCompletion = setTimeout(() => reject(new Error('no upload reached its completion')), timeout)
  })
  await Promise.race([firstCompletion, gaveUp])
  clearTimeout(noCompletion)
  await page.click('.uppy-StatusBar.is-uploading [data-cy=togglePauseResume]')
  await page.waitForSelector('.uppy-StatusBar-statusPrimary:has-text("Paused")')
  release()
  await throttle(-1)
  await page.click('[data-cy=togglePauseResume]')
  await page.waitForSelector('.uppy-StatusBar.is-complete, .uppy-StatusBar.is-error')
  await page.unroute('**/v1/uploads/*/complete')
  const failed = await page.$$eval('.uppy-Dashboard-Item.is-error', (items) =>
    items.map((item) => `${item.querySelector('.uppy-Dashboard-Item-name')?.textContent}: ${item.querySelector('.uppy-Dashboard-Item-errorDetails')?.getAttribute('aria-label') ?? '?'}`))
  if (failed.length) throw new Error(`${failed.length} uploads failed: ${failed.join('; ')}`)
  // Each file was opened and completed once: the resume sent no second session or completion.
  if (opens.length !== uploads.length || new Set(completions).size !== uploads.length || completions.length !== uploads.length) {
    throw new Error(`${uploads.length} files: ${opens.length} opens, completions ${completions.join(', ')}`)
  }

  step('library: both files, thumbnails appear live (no reload)')
  await page.evaluate((tag) => { location.hash = `#/library?tag=${tag}` }, runTag)
  const card = (name) => `#library-grid a.card:has(.filename:text-is("${name}"))`
  await page.waitForSelector(card(videoName))
  await page.waitForSelector(card(imageName))
  await page.waitForSelector(`${card(imageName)} .thumb img`)
  await page.waitForSelector(`${card(videoName)} .thumb img`)
  await page.waitForSelector(`${card(videoName)} [data-role=transcode]:text-is("HLS ready")`)
  const naturalWidth = await page.$eval(`${card(imageName)} .thumb img`, (img) =>
    img.decode().then(() => img.naturalWidth))
  if (!(naturalWidth > 0)) throw new Error('the image thumbnail did not load')

  step('library: search and tag filter')
  await page.fill('input[name=q]', imageName.slice(0, 5))
  await page.press('input[name=q]', 'Enter')
  await page.waitForFunction((name) => {
    const names = [...document.querySelectorAll('#library-grid .filename')].map((n) => n.textContent)
    return names.length === 1 && names[0] === name
  }, imageName)
  await page.waitForFunction(() => document.querySelectorAll('#library-grid a.card').length === 1)
  await page.fill('input[name=q]', '')
  await page.press('input[name=q]', 'Enter')
  await page.waitForFunction((n) => document.querySelectorAll('#library-grid a.card').length === n, uploads.length)
  await page.goto(`${base}#/library`)
  await page.waitForSelector(`${card(videoName)} .thumb img`)
  await page.waitForSelector(`${card(imageName)} .thumb img`)
  await page.evaluate(() => Promise.all([...document.images].map((img) => img.decode().catch(() => undefined))))
  if (shots) {
    mkdirSync(shots, { recursive: true })
    await page.screenshot({ path: join(shots, 'library.png') })
  }

  step('file page: HLS playback with hls.js')
  await page.click(card(videoName))
  await page.waitForSelector('#player')
  await page.waitForFunction(() => document.querySelectorAll('#quality option').length >= 2)
  const qualities = await page.$$eval('#quality option', (options) => options.map((o) => o.textContent))
  console.log(`qualities: ${qualities.join(' | ')}`)
  await page.evaluate(() => document.querySelector('#player').play())
  await page.waitForFunction(() => document.querySelector('#player').currentTime > 1)

  const unfit = playlistRequests.filter(
    (r) => r.authorization || r.url.searchParams.has('access_token') || !r.url.searchParams.get('pt'),
  )
  if (!playlistRequests.length || unfit.length) {
    throw new Error(`playlist requests without a playback token or with a bearer token: ${unfit.map((r) => r.url.pathname).join(', ')}`)
  }
  console.log(`playlists: ${playlistRequests.length} requests, each with a playback token and no bearer token`)

  if (qualities.length >= 3) {
    step('file page: switch to the lowest quality')
    const lowest = await page.$eval('#quality', (select) => select.options[select.options.length - 1].value)
    await page.selectOption('#quality', lowest)
    await page.waitForFunction((level) => document.querySelector('#player').dataset.level === level, lowest)
    const before = await page.$eval('#player', (v) => v.currentTime)
    await page.waitForFunction((t) => document.querySelector('#player').currentTime > t + 0.5, before)
    const height = await page.$eval('#player', (v) => v.dataset.height)
    console.log(`switched to level ${lowest} (${height}p)`)
  } else {
    console.log('one quality only: nothing to switch')
  }

  step('file page: metadata the extractor found')
  await page.waitForSelector('#metadata-list dt:has-text("Video")')
  const metadata = await page.$$eval('#metadata-list dt', (terms) => terms.map((t) => t.textContent))
  console.log(`metadata: ${metadata.join(' | ')}`)
  step('file page: the MP4 fallback answers a Range request')
  const mp4 = await page.$eval('#download-mp4', (a) => ({ href: a.href, label: a.textContent }))
  const ranged = await page.evaluate(async (url) => {
    const r = await fetch(url, { headers: { Range: 'bytes=4-11' } })
    return { status: r.status, box: new TextDecoder().decode(await r.arrayBuffer()) }
  }, mp4.href)
  if (ranged.status !== 206 || !ranged.box.startsWith('ftyp')) throw new Error(`mp4: ${JSON.stringify(ranged)}`)
  console.log(`mp4 fallback: ${mp4.label}, Range 206`)

  step('file page: download link, tags, history')
  const href = await page.$eval('#download', (a) => a.href)
  const download = await page.evaluate(async (url) => {
    const r = await fetch(url, { headers: { Range: 'bytes=0-15' } })
    return { status: r.status, length: (await r.arrayBuffer()).byteLength }
  }, href)
  if (download.status !== 206 || download.length !== 16) throw new Error(`download: ${JSON.stringify(download)}`)
  await page.fill('#tag-input', 'favourite')
  await page.click('#tag-form button[type=submit]')
  await page.waitForSelector('#file-tags .tag:has-text("favourite")')
  await page.waitForSelector('#history li[data-type^="file.tags_changed."]')
  await page.waitForSelector('#history li[data-type^="file.uploaded."]')
  await page.evaluate(() => document.querySelector('#player').pause())
  if (shots) await page.screenshot({ path: join(shots, 'file.png'), fullPage: true })

  step('image file page: preview')
  await page.goto(`${base}#/library?tag=${runTag}&q=${encodeURIComponent(imageName)}`)
  await page.click(card(imageName))
  await page.waitForSelector('#preview-image')
  await page.waitForSelector('#download')

  if (audio) {
    step('audio file page: HLS audio with its waveform, click to seek')
    await page.goto(`${base}#/library?tag=${runTag}&q=${encodeURIComponent(audioName)}`)
    await page.waitForSelector(`${card(audioName)} [data-role=transcode]:text-is("HLS ready")`)
    await page.click(card(audioName))
    await page.waitForSelector('#waveform[data-peaks]')
    const peaks = await page.$eval('#waveform', (c) => c.dataset.peaks)
    await page.evaluate(() => document.querySelector('#audio-player').play())
    await page.waitForFunction(() => document.querySelector('#audio-player').currentTime > 0.3)
    const box = await page.$eval('#waveform', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height } })
    await page.mouse.click(box.x + box.w * 0.75, box.y + box.h / 2)
    const position = await page.$eval('#audio-player', (a) => a.currentTime / a.duration)
    if (!(position > 0.6)) throw new Error(`a click at 75 % of the waveform seeked to ${position}`)
    await page.evaluate(() => document.querySelector('#audio-player').pause())
    console.log(`audio: waveform of ${peaks} peaks, seeked to ${Math.round(position * 100)} %`)
  }
}

try {
  await main()
  const blocked = consoleErrors.filter((text) => /Content Security Policy/i.test(text))
  if (blocked.length) throw new Error(`the CSP blocked:\n  ${blocked.join('\n  ')}`)
  if (consoleErrors.length) console.log(`console errors (not fatal):\n  ${consoleErrors.join('\n  ')}`)
  console.log('webui-e2e: ok')
} catch (error) {
  console.error(`webui-e2e: FAILED: ${error?.stack ?? error}`)
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
