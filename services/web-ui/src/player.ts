// HLS playback with hls.js (MSE) and a quality selector built from the
// master playlist's levels. Playlists come from the catalog API and need the
// bearer token: hls.js adds the Authorization header to same-origin `/v1/`
// requests only (segments are presigned S3 URLs and must go without it).
// Browsers with native HLS and no MSE get `?access_token=` instead, which the
// catalog forwards to the rendition playlists.
import Hls from 'hls.js/light'

import { getToken } from './auth'
import { h } from './dom'

export interface Player {
  element: HTMLElement
  destroy(): void
}

function isApiUrl(url: string): boolean {
  try {
    const parsed = new URL(url, location.href)
    return parsed.origin === location.origin && parsed.pathname.startsWith('/v1/')
  } catch {
    return false
  }
}

function levelLabel(level: { height: number; width: number; bitrate: number; name?: string }): string {
  const kbps = Math.round(level.bitrate / 1000)
  const size = level.height ? `${level.height}p` : level.name || `${level.width}w`
  return `${size} · ${kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${kbps} kb/s`}`
}

export function createPlayer(hlsUrl: string, poster?: string): Player {
  const video = h('video', { controls: true, playsInline: true, preload: 'metadata', id: 'player', poster })
  video.muted = true // autoplay policies: let the user unmute
  const quality = h('select', { id: 'quality', 'aria-label': 'Quality', disabled: true }, h('option', { value: '-1' }, 'Auto'))
  const state = h('span', { class: 'muted small', id: 'player-state' }, 'loading…')
  const element = h('div', { class: 'player' }, video, h('div', { class: 'player-bar' }, h('label', null, 'Quality ', quality), state))

  let hls: Hls | null = null
  if (Hls.isSupported()) {
    hls = new Hls({
      xhrSetup(xhr, url) {
        if (!isApiUrl(url)) return
        xhr.open('GET', url, true)
        const token = getToken()
        if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
      },
    })
    const instance = hls
    instance.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      quality.replaceChildren(h('option', { value: '-1' }, 'Auto'))
      data.levels
        .map((level, index) => ({ level, index }))
        .sort((a, b) => b.level.height - a.level.height || b.level.bitrate - a.level.bitrate)
        .forEach(({ level, index }) => quality.append(h('option', { value: String(index) }, levelLabel(level))))
      quality.disabled = data.levels.length < 1
      state.textContent = `${data.levels.length} qualities`
    })
    instance.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
      const level = instance.levels[data.level]
      if (level) {
        state.textContent = `playing ${levelLabel(level)}${instance.autoLevelEnabled ? ' (auto)' : ''}`
        video.dataset.level = String(data.level)
        video.dataset.height = String(level.height)
      }
    })
    instance.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) {
        state.textContent = `playback error: ${data.details}`
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) instance.startLoad()
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) instance.recoverMediaError()
      }
    })
    quality.addEventListener('change', () => {
      const value = Number(quality.value)
      // currentLevel switches now (flushes the buffer); -1 returns to ABR.
      instance.currentLevel = value
      if (value === -1) state.textContent = 'auto'
    })
    instance.loadSource(hlsUrl)
    instance.attachMedia(video)
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    const token = getToken()
    video.src = token ? `${hlsUrl}?access_token=${encodeURIComponent(token)}` : hlsUrl
    state.textContent = 'native HLS (quality chosen by the browser)'
  } else {
    state.textContent = 'this browser cannot play HLS'
  }

  return {
    element,
    destroy() {
      hls?.destroy()
      video.removeAttribute('src')
      video.load()
    },
  }
}
