// Playback beacons for analytics (services/analytics): what happened in one view,
// sent in batches to POST /v1/analytics/beacons. The bearer token goes in the
// Authorization header, never in a URL: navigator.sendBeacon cannot set headers,
// so batches go with fetch(..., { keepalive: true }), which survives page unload.
import Hls from 'hls.js/light'

import { authHeaders } from './api'

type Kind = 'view_start' | 'heartbeat' | 'rendition_change' | 'rebuffer_start' | 'rebuffer_end' | 'error' | 'view_end'

interface Beacon {
  kind: Kind
  at: string
  position: number
  rendition?: string
  startup_ms?: number
  error?: string
}

export const HEARTBEAT_MS = 5000
const MAX_BATCH = 100

export interface BeaconReporter {
  stop(): void
}

function newViewId(): string {
  return crypto.randomUUID()
}

export function reportPlayback(fileId: string, video: HTMLVideoElement, hls: Hls | null): BeaconReporter {
  const viewId = newViewId()
  const queue: Beacon[] = []
  let started = false
  let ended = false
  let rebuffering = false
  let playRequestedAt: number | null = null
  let rendition: string | undefined
  let refused = false

  const position = (): number => {
    const t = video.currentTime || 0
    return Number.isFinite(video.duration) ? Math.min(t, video.duration) : t
  }
  const add = (kind: Kind, extra: Partial<Beacon> = {}): void => {
    if (ended || refused) return
    queue.push({ kind, at: new Date().toISOString(), position: Math.max(0, position()), rendition, ...extra })
    if (kind === 'view_end') ended = true
    if (queue.length >= MAX_BATCH || kind === 'view_end') void flush()
  }

  async function flush(): Promise<void> {
    if (!queue.length || refused) return
    const beacons = queue.splice(0, MAX_BATCH)
    try {
      const response = await fetch('/v1/analytics/beacons', {
        method: 'POST',
        keepalive: true,
        headers: { 'Content-Type': 'application/json', ...(await authHeaders()) },
        body: JSON.stringify({ view_id: viewId, file_id: fileId, beacons }),
      })
      // A refused batch (not playable, flood...) is dropped: analytics must never
      // disturb playback. Stop reporting on refusals that will not change.
      if (response.status === 404 || response.status === 409 || response.status === 401) refused = true
    } catch {
      // offline: these beacons are lost, playback goes on
    }
  }

  const onPlay = (): void => {
    if (!started && playRequestedAt === null) playRequestedAt = performance.now()
  }
  const onPlaying = (): void => {
    if (!started) {
      started = true
      const startup = playRequestedAt === null ? undefined : Math.round(performance.now() - playRequestedAt)
      add('view_start', { startup_ms: startup, position: position() })
    } else if (rebuffering) {
      rebuffering = false
      add('rebuffer_end')
    }
  }
  const onWaiting = (): void => {
    if (started && !rebuffering && !video.paused) {
      rebuffering = true
      add('rebuffer_start')
    }
  }
  const onEnded = (): void => {
    if (started) add('view_end')
  }
  video.addEventListener('play', onPlay)
  video.addEventListener('playing', onPlaying)
  video.addEventListener('waiting', onWaiting)
  video.addEventListener('ended', onEnded)

  if (hls) {
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
      const level = hls.levels[data.level]
      const name = level?.height ? `${level.height}p` : undefined
      if (!name || name === rendition) return
      rendition = name
      if (started) add('rendition_change')
    })
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal && started) add('error', { error: String(data.details).slice(0, 64).replace(/[^A-Za-z0-9_.:-]/g, '_') })
    })
  }

  const heartbeat = window.setInterval(() => {
    if (started && !video.paused && !ended) add('heartbeat')
    void flush()
  }, HEARTBEAT_MS)
  const onHide = (): void => {
    if (document.visibilityState === 'hidden') void flush()
  }
  const onPageHide = (): void => {
    if (started) add('view_end')
    void flush()
  }
  document.addEventListener('visibilitychange', onHide)
  window.addEventListener('pagehide', onPageHide)

  return {
    stop() {
      if (started) add('view_end')
      void flush()
      window.clearInterval(heartbeat)
      video.removeEventListener('play', onPlay)
      video.removeEventListener('playing', onPlaying)
      video.removeEventListener('waiting', onWaiting)
      video.removeEventListener('ended', onEnded)
      document.removeEventListener('visibilitychange', onHide)
      window.removeEventListener('pagehide', onPageHide)
    },
  }
}
