// HLS playback with hls.js (MSE) and a quality selector built from the
// master playlist's levels. The file's detail hands out the master playlist
// URL with a short-lived playback token for this file only (`?pt=`); the
// catalog puts the same token on the rendition playlist URLs and presigns the
// segments, so no request of a playback carries the API's bearer token, and
// hls.js and native HLS (Safari) load the same URL. A browser with neither
// plays the progressive MP4 fallback (presigned; seeks by Range requests).
import Hls from 'hls.js/light'

import { reportPlayback } from './beacons'
import type { BeaconReporter } from './beacons'
import { h } from './dom'

export interface Player {
  element: HTMLElement
  destroy(): void
  /** A fresh detail's playlist URL: later playlist loads use its playback token. */
  renew?(hlsUrl: string): void
}

/** `url` with the playback token of `latest`, if `url` carries one (segments are presigned). */
function withToken(url: string, latest: string): string {
  const target = new URL(url, location.href)
  const token = new URL(latest, location.href).searchParams.get('pt')
  if (!token || !target.searchParams.has('pt')) return url
  target.searchParams.set('pt', token)
  return target.toString()
}

function levelLabel(level: { height: number; width: number; bitrate: number; name?: string }): string {
  const kbps = Math.round(level.bitrate / 1000)
  const size = level.height ? `${level.height}p` : level.name || `${level.width}w`
  return `${size} · ${kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${kbps} kb/s`}`
}

export function createPlayer(hlsUrl: string, poster?: string, mp4Url?: string, fileId?: string): Player {
  const video = h('video', { controls: true, playsInline: true, preload: 'metadata', id: 'player', poster })
  video.muted = true // autoplay policies: let the user unmute
  const quality = h('select', { id: 'quality', 'aria-label': 'Quality', disabled: true }, h('option', { value: '-1' }, 'Auto'))
  const state = h('span', { class: 'muted small', id: 'player-state' }, 'loading…')
  const element = h('div', { class: 'player' }, video, h('div', { class: 'player-bar' }, h('label', null, 'Quality ', quality), state))

  let hls: Hls | null = null
  let latest = hlsUrl
  if (Hls.isSupported()) {
    // A ladder still encoding is an EVENT playlist hls.js reloads for as long as it grows,
    // longer than one playback token lives: every load takes the newest token the page got.
    hls = new Hls({ xhrSetup: (xhr, url) => xhr.open('GET', withToken(url, latest), true) })
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
    video.src = hlsUrl
    state.textContent = 'native HLS (quality chosen by the browser)'
  } else if (mp4Url) {
    video.src = mp4Url
    state.textContent = 'MP4 fallback (no HLS in this browser)'
  } else {
    state.textContent = 'this browser cannot play HLS'
  }

  // Playback analytics: one view per player (none for a player without a file).
  const beacons: BeaconReporter | null = fileId ? reportPlayback(fileId, video, hls) : null

  return {
    element,
    renew(url: string) {
      latest = url
    },
    destroy() {
      beacons?.stop()
      hls?.destroy()
      video.removeAttribute('src')
      video.load()
    },
  }
}
