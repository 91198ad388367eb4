// One file: preview (HLS player for videos, audio player with its waveform,
// the largest thumbnail otherwise), a transcode progress bar, download (and
// the MP4 fallback), tags editor, renditions and the event history; kept live
// by the catalog's event stream.
import { fileAnalytics } from './analytics'
import { ApiError, catalog, gateway, moderation } from './api'
import { hasRole } from './auth'
import type { FileDetail, HistoryEvent } from './api'
import { invalidate, pickThumbnail } from './details'
import { clear, formatBytes, formatDate, formatDuration, h } from './dom'
import { live } from './events'
import { metadataRows } from './metadata'
import { statusBadges } from './library'
import { createAudioPlayer } from './audioplayer'
import { createPlayer } from './player'
import type { Player } from './player'
import { parseTags } from './upload'

// Envelope and bookkeeping fields are left out of the one-line summary; the
// whole event is one click away.
const NOISE = new Set([
  'file_id', 'owner', 'session_id', 'event_id', 'type', 'producer', 'stream_id', 'occurred_at',
  'causation_id', 'correlation_id', 'bucket', 'object_key', 'upload_id', 'job_id', 'schema_version',
])

function summarize(event: HistoryEvent): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(event.data)) {
    if (NOISE.has(key) || value === null || value === undefined) continue
    if (typeof value === 'object') {
      if (Array.isArray(value) && value.length === 0) continue
      const text = JSON.stringify(value)
      parts.push(`${key}=${text.length > 60 ? `${text.slice(0, 57)}…` : text}`)
    } else {
      const text = String(value)
      parts.push(`${key}=${text.length > 24 && /^[0-9a-f]+$/.test(text) ? `${text.slice(0, 12)}…` : text}`)
    }
  }
  return parts.join('  ')
}

export function renderFile(root: HTMLElement, fileId: string): () => void {
  let player: Player | null = null
  let playerUrl: string | null = null
  let disposed = false
  let current: FileDetail | null = null

  const title = h('h2', { id: 'file-title' }, 'Loading…')
  const badges = h('div', { id: 'file-badges' })
  const progress = h('progress', { id: 'transcode-progress', max: 100, hidden: true, 'aria-label': 'Transcode progress' })
  const progressLabel = h('span', { class: 'muted small', id: 'transcode-progress-label' })
  const progressRow = h('div', { class: 'progress-row', hidden: true }, progress, progressLabel)
  const facts = h('dl', { class: 'facts' })
  const metadata = h('section', { id: 'metadata', hidden: true })
  const preview = h('div', { class: 'preview', id: 'preview' })
  const actions = h('div', { class: 'actions' })
  const tagList = h('div', { class: 'tags', id: 'file-tags' })
  const tagInput = h('input', { type: 'text', placeholder: 'add tags (comma separated)', id: 'tag-input', 'aria-label': 'Add tags' })
  const tagMessage = h('span', { class: 'muted small', id: 'tag-message' })
  const renditions = h('div', { id: 'renditions' })
  const history = h('ol', { class: 'history', id: 'history' })
  const analyticsBox = h('div', { id: 'analytics' })
  const stats = fileAnalytics(analyticsBox, fileId)
  let statsShown = false

  root.append(
    h('p', null, h('a', { href: '#/library' }, '← Library')),
    title,
    badges,
    progressRow,
    h('div', { class: 'file-layout' },
      h('div', null, preview, actions),
      h('div', null,
        facts,
        metadata,
        h('section', null, h('h3', null, 'Tags'), tagList,
          h('form', { class: 'inline', id: 'tag-form', onsubmit: (e: Event) => { e.preventDefault(); void addTags() } },
            tagInput, h('button', { type: 'submit' }, 'Add'), tagMessage)),
        renditions,
      ),
    ),
    h('section', { class: 'analytics' }, analyticsBox,
      h('button', { type: 'button', class: 'secondary small', id: 'analytics-refresh', onclick: () => void stats.refresh() }, 'Refresh analytics')),
    h('section', null, h('h3', null, 'History'), history),
  )

  async function saveTags(tags: string[]): Promise<void> {
    tagMessage.textContent = 'saving…'
    try {
      const result = await gateway.setTags(fileId, tags)
      invalidate(fileId)
      if (current) current = { ...current, file: { ...current.file, tags: result.tags } }
      renderTags(result.tags)
      tagMessage.textContent = 'saved'
      void loadHistory()
    } catch (error) {
      tagMessage.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)
    }
  }

  async function addTags(): Promise<void> {
    const added = parseTags(tagInput.value)
    if (!added.length || !current) return
    tagInput.value = ''
    await saveTags([...new Set([...current.file.tags, ...added])])
  }

  function renderTags(tags: string[]): void {
    clear(tagList)
    if (!tags.length) tagList.append(h('span', { class: 'muted small' }, 'no tags'))
    for (const tag of tags) {
      tagList.append(h('span', { class: 'tag' },
        h('a', { href: `#/library?tag=${encodeURIComponent(tag)}` }, tag),
        h('button', { type: 'button', class: 'x', title: `remove ${tag}`, 'aria-label': `remove tag ${tag}`,
          onclick: () => void saveTags((current?.file.tags ?? tags).filter((t) => t !== tag)) }, '×')))
    }
  }

  function showProgress(status: string | null, percent: number | null | undefined): void {
    const running = status === 'running'
    progressRow.hidden = !running
    progress.hidden = !running
    if (percent != null) {
      progress.value = percent
      progressLabel.textContent = `transcoding ${percent.toFixed(0)} %`
    } else {
      progress.removeAttribute('value') // indeterminate until the first report
      progressLabel.textContent = 'transcoding…'
    }
  }

  function render(d: FileDetail): void {
    current = d
    const f = d.file
    showProgress(f.transcode_status, f.transcode_progress)
    document.title = `${f.filename} · mediaplane`
    title.textContent = f.filename
    badges.replaceChildren(statusBadges(f))
    clear(facts)
    const rows: [string, string][] = [
      ['Size', formatBytes(f.size)],
      ['Type', f.media_type ?? f.content_type],
      ['Kind', f.kind ?? '—'],
      ['Uploaded', formatDate(f.created_at)],
      ['Updated', formatDate(f.updated_at)],
    ]
    if (d.duration !== null) rows.push(['Duration', formatDuration(d.duration)])
    if (d.live) {
      // hls.js reloads the EVENT playlists as they grow; the page reloads on every step.
      rows.push(['Playable while processing', `${formatDuration(d.live.ready)} ready · chunks ${d.live.chunks_done}/${d.live.chunks_planned}`])
    }
    if (d.sha256) rows.push(['SHA-256', d.sha256])
    if (f.transcode_error) rows.push(['Transcode error', f.transcode_error])
    if (f.thumbnail_error) rows.push(['Thumbnail error', f.thumbnail_error])
    if (d.purged) rows.push(['Purged', 'the stored objects are gone'])
    if (f.taken_down_reason) rows.push(['Taken down', f.taken_down_reason])
    for (const [k, v] of rows) facts.append(h('dt', null, k), h('dd', { class: k === 'SHA-256' ? 'mono' : undefined }, v))
    const found = d.metadata ? metadataRows(d.metadata) : []
    metadata.hidden = found.length === 0
    metadata.replaceChildren(
      h('h3', null, 'Metadata'),
      h('dl', { class: 'facts', id: 'metadata-list' }, found.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    )

    if (f.kind === 'video' && !statsShown) {
      statsShown = true
      void stats.refresh()
    }

    const poster = pickThumbnail(d.thumbnails, 1280)
    if (d.hls_url) {
      // Every detail carries a fresh playback token: keep playing unless the playlist changed.
      const playlist = d.hls_url.split('?')[0]
      if (playerUrl !== playlist) {
        player?.destroy()
        player = f.kind === 'audio'
          ? createAudioPlayer(d.hls_url, d.waveform_url ?? null)
          : createPlayer(d.hls_url, poster?.url, d.mp4?.url, fileId)
        playerUrl = playlist
        preview.replaceChildren(player.element)
      } else {
        player?.renew?.(d.hls_url)
      }
    } else if (!player) {
      if (poster) {
        preview.replaceChildren(h('img', { src: poster.url, alt: f.filename, id: 'preview-image', width: poster.width, height: poster.height }))
      } else {
        const waiting = f.status === 'ready' ? 'no preview' : `${f.status}…`
        preview.replaceChildren(h('div', { class: 'placeholder big' }, waiting))
      }
    }

    clear(actions)
    if (d.download) {
      actions.append(h('a', { class: 'button', href: d.download.url, download: f.filename, id: 'download' }, '⬇ Download'))
    }
    if (d.mp4) {
      const name = `${f.filename.replace(/\.[^.]*$/, '')}.mp4`
      actions.append(h('a', { class: 'button secondary', href: d.mp4.url, download: name, id: 'download-mp4', title: formatBytes(d.mp4.size) },
        `⬇ MP4 ${Math.min(d.mp4.width, d.mp4.height)}p`))
    }
    if (f.status !== 'deleted') {
      actions.append(h('button', { type: 'button', class: 'danger', onclick: () => void remove() }, 'Delete'))
    }
    if (f.status !== 'deleted' && !f.taken_down_reason) {
      actions.append(h('button', { type: 'button', class: 'secondary', id: 'report', onclick: () => void report() }, '⚑ Report'))
    }
    if (hasRole('moderator') && f.status !== 'deleted') {
      actions.append(f.taken_down_reason
        ? h('button', { type: 'button', class: 'secondary', id: 'restore', onclick: () => void moderate('restore') }, 'Restore')
        : h('button', { type: 'button', class: 'danger', id: 'takedown', onclick: () => void moderate('takedown') }, 'Take down'))
    }

    renderTags(f.tags)

    clear(renditions)
    if (d.renditions.length) {
      renditions.append(h('h3', null, 'Renditions'), h('table', { class: 'small' },
        h('thead', null, h('tr', null, ['name', 'size', 'bandwidth', 'codecs', 'fps', 'segments'].map((c) => h('th', null, c)))),
        h('tbody', null, d.renditions.map((r) => h('tr', null,
          h('td', null, r.name), h('td', null, `${r.width}×${r.height}`),
          h('td', null, `${Math.round(r.bandwidth / 1000)} kb/s`), h('td', { class: 'mono' }, r.codecs),
          h('td', null, r.frame_rate.toFixed(2)), h('td', null, String(r.segment_count)))))))
    }
  }

  async function remove(): Promise<void> {
    if (!confirm('Delete this file? Its objects are purged later.')) return
    try {
      await gateway.deleteFile(fileId)
      location.hash = '#/library'
    } catch (error) {
      alert(error instanceof Error ? error.message : String(error))
    }
  }

  async function report(): Promise<void> {
    const reason = prompt('Why should the moderators look at this file?')
    if (!reason) return
    try {
      await gateway.report(fileId, reason)
      alert('Reported: thank you. The moderators will review it.')
    } catch (error) {
      alert(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error))
    }
  }

  async function moderate(action: 'takedown' | 'restore'): Promise<void> {
    const reason = prompt(action === 'takedown' ? 'Reason for the takedown (the owner sees it)' : 'Reason for the restore')
    if (!reason) return
    try {
      if (action === 'takedown') await moderation.takeDown(fileId, reason)
      else await moderation.restore(fileId, reason)
      setTimeout(() => { invalidate(fileId); void load(); void loadHistory() }, 500)
    } catch (error) {
      alert(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error))
    }
  }

  async function load(): Promise<void> {
    try {
      const d = await catalog.file(fileId)
      if (!disposed) render(d)
    } catch (error) {
      if (disposed) return
      if (error instanceof ApiError && error.code === 'file_taken_down') {
        // The owner: the file is hidden from everyone, with the moderator's reason.
        title.textContent = 'Taken down by a moderator'
        badges.replaceChildren(h('p', { class: 'error', id: 'taken-down' }, error.message))
        preview.replaceChildren()
        actions.replaceChildren()
        return
      }
      title.textContent = error instanceof ApiError && error.status === 404 ? 'File not found' : 'Could not load the file'
      badges.textContent = error instanceof Error ? error.message : String(error)
    }
  }

  async function loadHistory(): Promise<void> {
    try {
      const events = await catalog.history(fileId)
      if (disposed) return
      history.replaceChildren(...events.map((e) => h('li', { dataset: { type: e.type } },
        h('time', { datetime: e.occurred_at }, formatDate(e.occurred_at)), ' ',
        h('strong', { class: e.known ? undefined : 'muted' }, e.type), ' ',
        h('span', { class: 'muted small mono' }, summarize(e)),
        h('details', null, h('summary', { class: 'muted small' }, 'event'),
          h('pre', { class: 'small mono' }, JSON.stringify(e, null, 2))))))
    } catch (error) {
      if (!disposed) history.replaceChildren(h('li', null, `Could not load the history: ${String(error)}`))
    }
  }

  const off = live.onChange((change) => {
    if (change.file_id !== fileId) return
    showProgress(change.transcode_status, change.transcode_progress) // at once, before the reload
    invalidate(fileId)
    void load()
    void loadHistory()
  })
  const offResync = live.onResync(() => {
    void load()
    void loadHistory()
  })
  void load()
  void loadHistory()

  return () => {
    disposed = true
    off()
    offResync()
    player?.destroy()
    stats.destroy()
  }
}
