// Analytics pages: the file page's section (its owner, or an admin) and the admin
// page with the platform's totals and the worst quality of experience.
import { analytics, ApiError } from './api'
import type { Measures } from './api'
import { qualityBars, retentionCurve, viewsAndWatchTime } from './charts'
import type { DrawnChart } from './charts'
import { clear, formatDuration, h } from './dom'

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`
}

function facts(m: Measures): HTMLElement {
  const rows: [string, string][] = [
    ['Views', String(m.views)],
    ['Unique viewers', String(m.viewers)],
    ['Watch time', formatDuration(m.watch_seconds)],
    ['Average view', formatDuration(m.average_view_seconds)],
    ['Startup', m.average_startup_ms === null ? '—' : `${Math.round(m.average_startup_ms)} ms`],
    ['Rebuffering', percent(m.rebuffer_ratio)],
    ['Errors', percent(m.error_rate)],
  ]
  const renditions = Object.entries(m.rendition_seconds)
  if (renditions.length) rows.push(['Time per rendition', renditions.map(([k, v]) => `${k} ${formatDuration(v)}`).join(', ')])
  return h('dl', { class: 'facts analytics-facts' }, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', { dataset: { measure: k } }, v)]))
}

/** The file page's analytics section; returns a function that frees its charts. */
export function fileAnalytics(container: HTMLElement, fileId: string): { refresh(): Promise<void>; destroy(): void } {
  let charts: DrawnChart[] = []
  const drop = (): void => {
    charts.forEach((c) => c.destroy())
    charts = []
  }
  async function refresh(): Promise<void> {
    try {
      const a = await analytics.file(fileId)
      drop()
      clear(container)
      container.append(h('h3', null, 'Analytics (30 days)'), facts(a.totals))
      if (!a.totals.views) {
        container.append(h('p', { class: 'muted small', id: 'analytics-empty' }, 'No views yet.'))
        return
      }
      charts = [
        viewsAndWatchTime('views-chart', a.days.map((d) => d.day), a.days.map((d) => d.measures.views), a.days.map((d) => Math.round(d.measures.watch_seconds / 6) / 10)),
      ]
      if (a.duration) charts.push(retentionCurve('retention-chart', a.retention, a.duration))
      container.append(...charts.map((c) => c.element))
    } catch (error) {
      clear(container)
      if (error instanceof ApiError && error.status === 404) return // not a playable file of ours
      container.append(h('p', { class: 'muted small' }, `Analytics unavailable: ${error instanceof Error ? error.message : String(error)}`))
    }
  }
  return { refresh, destroy: drop }
}

/** The admin analytics page: platform totals per day and the worst-QoE files. */
export function renderAdminAnalytics(root: HTMLElement): () => void {
  let charts: DrawnChart[] = []
  const body = h('div', { id: 'admin-analytics' }, h('p', { class: 'muted' }, 'Loading…'))
  root.append(h('h2', null, 'Platform analytics'), body)
  void (async () => {
    try {
      const [platform, worst] = await Promise.all([analytics.platform(), analytics.worstFiles()])
      clear(body)
      charts = [
        viewsAndWatchTime('platform-chart', platform.days.map((d) => d.day), platform.days.map((d) => d.measures.views), platform.days.map((d) => Math.round(d.measures.watch_seconds / 6) / 10)),
      ]
      body.append(h('h3', null, 'Last 30 days'), facts(platform.totals), charts[0]!.element, h('h3', null, 'Worst quality of experience (7 days)'))
      if (!worst.files.length) {
        body.append(h('p', { class: 'muted' }, 'No views in the last 7 days.'))
        return
      }
      const bars = qualityBars('worst-chart', worst.files.map((f) => f.file_id.slice(0, 8)), worst.files.map((f) => f.measures.rebuffer_ratio * 100), worst.files.map((f) => f.measures.error_rate * 100))
      charts.push(bars)
      body.append(bars.element, h('table', { class: 'small', id: 'worst-files' },
        h('thead', null, h('tr', null, ['file', 'owner', 'views', 'rebuffering', 'errors', 'startup'].map((c) => h('th', null, c)))),
        h('tbody', null, worst.files.map((f) => h('tr', null,
          h('td', { class: 'mono' }, h('a', { href: `#/files/${f.file_id}` }, f.file_id.slice(0, 8))),
          h('td', null, f.owner), h('td', null, String(f.measures.views)),
          h('td', null, percent(f.measures.rebuffer_ratio)), h('td', null, percent(f.measures.error_rate)),
          h('td', null, f.measures.average_startup_ms === null ? '—' : `${Math.round(f.measures.average_startup_ms)} ms`))))))
    } catch (error) {
      clear(body)
      const text = error instanceof ApiError && error.status === 403 ? 'Admins only.' : `Could not load: ${error instanceof Error ? error.message : String(error)}`
      body.append(h('p', { class: 'muted', id: 'admin-analytics-refused' }, text))
    }
  })()
  return () => charts.forEach((c) => c.destroy())
}
