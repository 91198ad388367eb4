// The admin console's charts (issue 16): storage added and freed per day, per bucket and
// kind, and uploads and stored bytes per day for one user or the whole platform. People
// read these as pictures; the numbers come from the catalog's admin API.
import { admin } from './api'
import type { StorageRow, UsageDay } from './api'
import { storagePerDay, usageOverTime } from './charts'
import type { DrawnChart } from './charts'
import { clear, formatBytes, h } from './dom'

const DAYS = 30

/** Every day of the last `count` (UTC), oldest first: a chart shows the quiet days too. */
export function lastDays(count: number, today: Date = new Date()): string[] {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())
  return Array.from({ length: count }, (_, i) => new Date(end - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10))
}

/** One value per day; the bytes stored carry over quiet days (the last known total). */
function usageSeries(days: string[], rows: UsageDay[]): { uploads: number[]; stored: number[] } {
  const byDay = new Map(rows.map((r) => [r.day, r]))
  const uploads: number[] = []
  const stored: number[] = []
  const first = rows[0]
  let carried = first ? first.stored_bytes - first.uploaded_bytes + first.freed_bytes : 0
  for (const day of days) {
    const row = byDay.get(day)
    if (row) carried = row.stored_bytes
    uploads.push(row?.uploads ?? 0)
    stored.push(carried)
  }
  return { uploads, stored }
}

function storageSeries(days: string[], rows: StorageRow[]): { series: { label: string; bytes: number[] }[]; freed: number[] } {
  const index = new Map(days.map((d, i) => [d, i]))
  const series = new Map<string, number[]>()
  const freed = days.map(() => 0)
  for (const row of rows) {
    const at = index.get(row.day)
    if (at === undefined) continue
    freed[at] = (freed[at] ?? 0) + row.freed_bytes
    if (!row.added_bytes) continue
    const label = `${row.bucket} · ${row.kind}`
    const values = series.get(label) ?? days.map(() => 0)
    values[at] = (values[at] ?? 0) + row.added_bytes
    series.set(label, values)
  }
  return { series: [...series].map(([label, bytes]) => ({ label, bytes })), freed }
}

export interface OverTime {
  element: HTMLElement
  /** Show one user's usage (or the platform's, for an empty owner). */
  showUser(owner: string): Promise<void>
  load(): Promise<void>
  destroy(): void
}

export function overTime(onError: (error: unknown) => void): OverTime {
  let storageChart: DrawnChart | null = null
  let usageChart: DrawnChart | null = null
  const storageBox = h('div', { id: 'admin-storage-chart' })
  const usageBox = h('div', { id: 'admin-usage-chart' })
  const who = h('input', { type: 'text', name: 'owner', placeholder: 'user id (empty: the platform)', 'aria-label': 'User for the usage chart' })
  const caption = h('p', { class: 'muted small', id: 'admin-usage-caption' })
  const element = h('div', { id: 'admin-over-time' },
    h('section', null, h('h3', null, `Storage over time (${DAYS} days, per bucket and kind)`), storageBox),
    h('section', null, h('h3', null, `Usage over time (${DAYS} days)`),
      h('form', { class: 'inline', id: 'admin-usage-form', onsubmit: (e: Event) => { e.preventDefault(); void showUser(who.value.trim()) } },
        who, h('button', { type: 'submit' }, 'Show')),
      caption, usageBox))

  async function showUser(owner: string): Promise<void> {
    who.value = owner
    try {
      const history = await admin.usageHistory(owner || undefined, DAYS)
      const days = lastDays(DAYS)
      const { uploads, stored } = usageSeries(days, history.days)
      usageChart?.destroy()
      usageChart = usageOverTime('usage-chart', days, uploads, stored)
      clear(usageBox)
      usageBox.append(usageChart.element)
      const total = history.days.reduce((n, d) => n + d.uploads, 0)
      caption.textContent = `${owner ? `User ${owner}` : 'The platform'}: ${total} ${total === 1 ? 'upload' : 'uploads'}, ${formatBytes(stored.at(-1) ?? 0)} of originals stored now.`
    } catch (error) {
      onError(error)
    }
  }

  async function load(): Promise<void> {
    try {
      const storage = await admin.storage(DAYS)
      const days = lastDays(DAYS)
      const { series, freed } = storageSeries(days, storage.days)
      storageChart?.destroy()
      storageChart = storagePerDay('storage-chart', days, series, freed)
      clear(storageBox)
      storageBox.append(storageChart.element)
    } catch (error) {
      onError(error)
    }
    await showUser(who.value.trim())
  }

  return {
    element,
    showUser,
    load,
    destroy: () => {
      storageChart?.destroy()
      usageChart?.destroy()
    },
  }
}
