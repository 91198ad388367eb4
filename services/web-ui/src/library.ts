// The library: the caller's files, newest first, with filters (tag, kind,
// status, filename search), keyset pagination (`next_cursor`), thumbnails
// and statuses kept live by the catalog's event stream.
import { catalog } from './api'
import type { FileFilter, FileSummary } from './api'
import { detail, invalidate, pickThumbnail } from './details'
import { clear, formatBytes, formatDate, h } from './dom'
import { live } from './events'
import type { FileChange } from './events'

const PAGE_SIZE = 24
const KINDS = ['image', 'video', 'audio', 'pdf', 'other']
const STATUSES = ['uploading', 'verifying', 'ready', 'rejected', 'deleted']

export function statusBadges(file: Pick<FileSummary, 'status' | 'transcode_status' | 'thumbnail_status' | 'kind' | 'rejection_code'> & { transcode_progress?: number | null }): HTMLElement {
  const badges = h('span', { class: 'badges' })
  badges.append(h('span', { class: `badge status-${file.status}`, dataset: { role: 'status' } }, file.status))
  if (file.rejection_code) badges.append(h('span', { class: 'badge status-rejected' }, file.rejection_code))
  if ((file.kind === 'video' || file.kind === 'audio') && file.transcode_status) {
    const running = file.transcode_status === 'running' && file.transcode_progress != null
    const label = running ? `HLS ${Math.floor(file.transcode_progress ?? 0)} %` : `HLS ${file.transcode_status}`
    badges.append(h('span', { class: `badge step-${file.transcode_status}`, title: 'HLS transcode', dataset: { role: 'transcode' } }, label))
  }
  if (file.thumbnail_status) {
    badges.append(h('span', { class: `badge step-${file.thumbnail_status}`, title: 'thumbnail', dataset: { role: 'thumbnail' } }, `thumb ${file.thumbnail_status}`))
  }
  return badges
}

function kindIcon(kind: string | null): string {
  switch (kind) {
    case 'video':
      return '🎬'
    case 'image':
      return '🖼'
    case 'audio':
      return '🎵'
    case 'pdf':
      return '📄'
    default:
      return '📦'
  }
}

export function readFilter(params: URLSearchParams): FileFilter {
  const filter: FileFilter = {}
  for (const key of ['tag', 'kind', 'status', 'q'] as const) {
    const value = params.get(key)
    if (value) filter[key] = value
  }
  // The hash holds calendar days; the API takes the day's first and last second (UTC).
  const after = params.get('taken_after')
  const before = params.get('taken_before')
  if (after && /^\d{4}-\d{2}-\d{2}$/.test(after)) filter.taken_after = `${after}T00:00:00Z`
  if (before && /^\d{4}-\d{2}-\d{2}$/.test(before)) filter.taken_before = `${before}T23:59:59Z`
  return filter
}

export function renderLibrary(root: HTMLElement, params: URLSearchParams): () => void {
  const filter = readFilter(params)
  const cursors: (string | null)[] = [null]
  let page = 0
  let items: FileSummary[] = []
  let nextCursor: string | null = null
  let loading = 0
  const cards = new Map<string, HTMLElement>()

  const search = h('input', {
    type: 'search',
    placeholder: 'Search file names…',
    value: filter.q ?? '',
    'aria-label': 'Search file names',
    name: 'q',
  })
  const tagSelect = h('select', { name: 'tag', 'aria-label': 'Tag' }, h('option', { value: '' }, 'All tags'))
  const kindSelect = h('select', { name: 'kind', 'aria-label': 'Kind' }, h('option', { value: '' }, 'All kinds'), KINDS.map((k) => h('option', { value: k }, k)))
  const statusSelect = h('select', { name: 'status', 'aria-label': 'Status' }, h('option', { value: '' }, 'Any status (not deleted)'), STATUSES.map((s) => h('option', { value: s }, s)))
  kindSelect.value = filter.kind ?? ''
  statusSelect.value = filter.status ?? ''
  if (filter.tag) tagSelect.append(h('option', { value: filter.tag }, filter.tag))
  tagSelect.value = filter.tag ?? ''
  const takenAfter = h('input', { type: 'date', name: 'taken_after', 'aria-label': 'Taken on or after', title: 'Taken on or after', value: filter.taken_after?.slice(0, 10) ?? '' })
  const takenBefore = h('input', { type: 'date', name: 'taken_before', 'aria-label': 'Taken on or before', title: 'Taken on or before', value: filter.taken_before?.slice(0, 10) ?? '' })

  const grid = h('div', { class: 'grid', id: 'library-grid' })
  const info = h('p', { class: 'muted', id: 'library-info' })
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, '← Newer')
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Older →')
  const pageLabel = h('span', { class: 'muted' })

  root.append(
    h('section', { class: 'toolbar' },
      search, tagSelect, kindSelect, statusSelect, takenAfter, takenBefore,
      h('a', { class: 'button', href: '#/upload' }, '⬆ Upload'),
    ),
    info,
    grid,
    h('nav', { class: 'pager' }, prev, pageLabel, next),
  )

  function applyFilter(): void {
    const out = new URLSearchParams()
    if (search.value.trim()) out.set('q', search.value.trim())
    if (tagSelect.value) out.set('tag', tagSelect.value)
    if (kindSelect.value) out.set('kind', kindSelect.value)
    if (statusSelect.value) out.set('status', statusSelect.value)
    if (takenAfter.value) out.set('taken_after', takenAfter.value)
    if (takenBefore.value) out.set('taken_before', takenBefore.value)
    const text = out.toString()
    location.hash = `#/library${text ? `?${text}` : ''}`
  }

  let searchTimer: ReturnType<typeof setTimeout> | undefined
  search.addEventListener('input', () => {
    clearTimeout(searchTimer)
    searchTimer = setTimeout(applyFilter, 350)
  })
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      clearTimeout(searchTimer)
      applyFilter()
    }
  })
  for (const select of [tagSelect, kindSelect, statusSelect, takenAfter, takenBefore]) select.addEventListener('change', applyFilter)
  prev.addEventListener('click', () => {
    if (page > 0) {
      page -= 1
      void load()
    }
  })
  next.addEventListener('click', () => {
    if (nextCursor) {
      cursors[page + 1] = nextCursor
      page += 1
      void load()
    }
  })

  void catalog.tags().then(
    (tags) => {
      for (const tag of tags.items) {
        if (tag.name === filter.tag) continue
        tagSelect.append(h('option', { value: tag.name }, `${tag.name} (${tag.files})`))
      }
    },
    (error: unknown) => console.warn('tags', error),
  )

  function card(file: FileSummary): HTMLElement {
    const thumb = h('div', { class: 'thumb' }, h('span', { class: 'placeholder' }, kindIcon(file.kind)))
    const el = h('a', { class: 'card', href: `#/files/${file.file_id}`, dataset: { fileId: file.file_id, status: file.status } },
      thumb,
      h('div', { class: 'card-body' },
        h('div', { class: 'filename', title: file.filename }, file.filename),
        h('div', { class: 'muted small' }, `${formatBytes(file.size)} · ${file.kind ?? file.content_type} · ${formatDate(file.created_at)}`),
        statusBadges(file),
        file.tags.length ? h('div', { class: 'tags' }, file.tags.map((t) => h('span', { class: 'tag' }, t))) : null,
      ),
    )
    if (file.status === 'ready' && file.thumbnail_status === 'ready') {
      detail(file.file_id, file.updated_at).then(
        (d) => {
          const best = pickThumbnail(d.thumbnails, 320)
          if (!best) return
          const img = h('img', { src: best.url, alt: file.filename, loading: 'lazy', width: best.width, height: best.height })
          thumb.replaceChildren(img)
        },
        (error: unknown) => console.warn('thumbnail', error),
      )
    }
    return el
  }

  function render(): void {
    clear(grid)
    cards.clear()
    for (const file of items) {
      const el = card(file)
      cards.set(file.file_id, el)
      grid.append(el)
    }
    const filtered = Object.keys(filter).length > 0
    info.textContent = items.length
      ? ''
      : filtered ? 'No files match these filters.' : 'No files yet: upload some.'
    prev.disabled = page === 0
    next.disabled = !nextCursor
    pageLabel.textContent = `page ${page + 1}`
  }

  async function load(): Promise<void> {
    const ticket = ++loading
    info.textContent = 'Loading…'
    try {
      const result = await catalog.files(filter, PAGE_SIZE, cursors[page])
      if (ticket !== loading) return
      items = result.items
      nextCursor = result.next_cursor
      render()
    } catch (error) {
      if (ticket !== loading) return
      info.textContent = `Could not load files: ${error instanceof Error ? error.message : String(error)}`
    }
  }

  // Live updates: a changed file on this page is re-read; a new file on the
  // first page reloads it (cheap: one list request, coalesced).
  let reloadTimer: ReturnType<typeof setTimeout> | undefined
  function scheduleReload(): void {
    clearTimeout(reloadTimer)
    reloadTimer = setTimeout(() => void load(), 300)
  }

  async function refreshOne(change: FileChange): Promise<void> {
    invalidate(change.file_id)
    const index = items.findIndex((f) => f.file_id === change.file_id)
    if (index < 0) {
      if (page === 0) scheduleReload()
      return
    }
    try {
      const d = await detail(change.file_id, change.updated_at)
      const current = items.findIndex((f) => f.file_id === change.file_id)
      if (current < 0) return
      items[current] = d.file
      const old = cards.get(change.file_id)
      const fresh = card(d.file)
      cards.set(change.file_id, fresh)
      old?.replaceWith(fresh)
    } catch (error) {
      console.warn('refresh', error)
    }
  }

  const offChange = live.onChange((change) => void refreshOne(change))
  const offResync = live.onResync(scheduleReload)
  void load()

  return () => {
    offChange()
    offResync()
    clearTimeout(searchTimer)
    clearTimeout(reloadTimer)
    loading += 1
  }
}
