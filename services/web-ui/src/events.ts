// Live changes from the catalog's Server-Sent Events stream (GET /v1/events).
//
// EventSource cannot send an Authorization header, and the bearer token never
// goes in a URL (access logs, history), so the stream is read with fetch and
// the header, and parsed here (text/event-stream framing: `event:`, `data:`,
// comments, blank line ends an event). It reconnects with a capped backoff.
import { authHeaders } from './api'

export interface FileChange {
  file_id: string
  owner: string
  status: string
  transcode_status: string | null
  thumbnail_status: string | null
  updated_at: string
  transcode_progress?: number | null
}

export type LiveState = 'connecting' | 'live' | 'offline'

type ChangeListener = (change: FileChange) => void
type ResyncListener = () => void
type StateListener = (state: LiveState) => void

class LiveFeed {
  #changes = new Set<ChangeListener>()
  #resyncs = new Set<ResyncListener>()
  #states = new Set<StateListener>()
  #controller: AbortController | null = null
  #state: LiveState = 'offline'
  #backoff = 1000

  get state(): LiveState {
    return this.#state
  }

  onChange(listener: ChangeListener): () => void {
    this.#changes.add(listener)
    return () => this.#changes.delete(listener)
  }

  /** After an `overflow` event or a reconnect: changes may have been missed. */
  onResync(listener: ResyncListener): () => void {
    this.#resyncs.add(listener)
    return () => this.#resyncs.delete(listener)
  }

  onState(listener: StateListener): () => void {
    this.#states.add(listener)
    listener(this.#state)
    return () => this.#states.delete(listener)
  }

  start(): void {
    if (this.#controller) return
    const controller = new AbortController()
    this.#controller = controller
    void this.#run(controller.signal)
  }

  stop(): void {
    this.#controller?.abort()
    this.#controller = null
    this.#setState('offline')
  }

  #setState(state: LiveState): void {
    if (state === this.#state) return
    this.#state = state
    for (const listener of this.#states) listener(state)
  }

  async #run(signal: AbortSignal): Promise<void> {
    let first = true
    while (!signal.aborted) {
      this.#setState('connecting')
      try {
        const response = await fetch('/v1/events', {
          headers: { ...(await authHeaders()), Accept: 'text/event-stream' },
          cache: 'no-store',
          signal,
        })
        if (response.status === 401) {
          this.stop()
          return
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`)
        this.#setState('live')
        this.#backoff = 1000
        if (!first) for (const listener of this.#resyncs) listener()
        first = false
        await this.#read(response.body, signal)
      } catch (error) {
        if (signal.aborted) return
        console.warn('live feed interrupted', error)
      }
      if (signal.aborted) return
      this.#setState('offline')
      await new Promise((resolve) => setTimeout(resolve, this.#backoff))
      this.#backoff = Math.min(this.#backoff * 2, 30_000)
    }
  }

  async #read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    const decoder = new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>
    const reader = body.pipeThrough(decoder).getReader()
    let buffer = ''
    let event = 'message'
    let data: string[] = []
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done || signal.aborted) return
        buffer += value
        let newline: number
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, newline)
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
          if (line === '') {
            if (data.length) this.#dispatch(event, data.join('\n'))
            event = 'message'
            data = []
            continue
          }
          if (line.startsWith(':')) continue // comment: connected / keep-alive
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          let text = colon < 0 ? '' : line.slice(colon + 1)
          if (text.startsWith(' ')) text = text.slice(1)
          if (field === 'event') event = text
          else if (field === 'data') data.push(text)
        }
      }
    } finally {
      reader.releaseLock()
    }
  }

  #dispatch(event: string, data: string): void {
    if (event === 'overflow') {
      for (const listener of this.#resyncs) listener()
      return
    }
    if (event !== 'file.changed') return
    try {
      const change = JSON.parse(data) as FileChange
      for (const listener of this.#changes) listener(change)
    } catch (error) {
      console.warn('bad file.changed event', error)
    }
  }
}

export const live = new LiveFeed()
