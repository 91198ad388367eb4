// Audio playback: the audio-only HLS ladder through hls.js (like videos) and
// a waveform drawn on a canvas from the transcoder's peaks document. The part
// already played is drawn in the accent colour; a click seeks to that point.
import Hls from 'hls.js/light'

import { h } from './dom'
import type { Player } from './player'

export interface Peaks {
  version: number
  duration: number
  peaks: number[]
}

export function drawWaveform(canvas: HTMLCanvasElement, peaks: number[], played: number): void {
  const context = canvas.getContext('2d')
  if (!context) return
  const { width, height } = canvas
  context.clearRect(0, 0, width, height)
  if (!peaks.length) return
  const style = getComputedStyle(canvas)
  const accent = style.getPropertyValue('--accent').trim() || '#3b5bdb'
  const rest = style.getPropertyValue('--line').trim() || '#dde1e8'
  const middle = height / 2
  // One bar per canvas column: each takes the loudest peak of the buckets it covers.
  for (let x = 0; x < width; x++) {
    const from = Math.floor((x * peaks.length) / width)
    const to = Math.max(from + 1, Math.floor(((x + 1) * peaks.length) / width))
    const peak = Math.max(...peaks.slice(from, to))
    const half = Math.max(1, peak * (middle - 2))
    context.fillStyle = x / width < played ? accent : rest
    context.fillRect(x, middle - half, 1, half * 2)
  }
}

export function createAudioPlayer(hlsUrl: string, waveformUrl: string | null): Player {
  const audio = h('audio', { controls: true, preload: 'metadata', id: 'audio-player' })
  const canvas = h('canvas', { id: 'waveform', width: 960, height: 120, class: 'waveform', title: 'click to seek' })
  const state = h('span', { class: 'muted small', id: 'player-state' }, 'loading…')
  const element = h('div', { class: 'player audio' }, canvas, audio, h('div', { class: 'player-bar' }, state))
  let peaks: number[] = []
  const redraw = () => drawWaveform(canvas, peaks, audio.duration ? audio.currentTime / audio.duration : 0)

  if (waveformUrl) {
    fetch(waveformUrl)
      .then((response) => (response.ok ? (response.json() as Promise<Peaks>) : Promise.reject(new Error(`${response.status}`))))
      .then((document) => {
        peaks = document.peaks
        canvas.dataset.peaks = String(peaks.length)
        redraw()
      })
      .catch((error: unknown) => { state.textContent = `no waveform: ${String(error)}` })
  }
  canvas.addEventListener('click', (event) => {
    const box = canvas.getBoundingClientRect()
    if (!audio.duration || !box.width) return
    audio.currentTime = ((event.clientX - box.left) / box.width) * audio.duration
    redraw()
  })
  audio.addEventListener('timeupdate', redraw)
  audio.addEventListener('seeked', redraw)

  let hls: Hls | null = null
  if (Hls.isSupported()) {
    hls = new Hls()
    hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      state.textContent = `${data.levels.length} bitrates (AAC)`
    })
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) state.textContent = `playback error: ${data.details}`
    })
    hls.loadSource(hlsUrl)
    hls.attachMedia(audio)
  } else if (audio.canPlayType('application/vnd.apple.mpegurl')) {
    audio.src = hlsUrl
    state.textContent = 'native HLS'
  } else {
    state.textContent = 'this browser cannot play HLS'
  }

  return {
    element,
    destroy() {
      hls?.destroy()
      audio.removeAttribute('src')
      audio.load()
    },
  }
}
