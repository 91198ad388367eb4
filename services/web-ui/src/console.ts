// Moderation (`#/moderation`, role moderator) and the admin console (`#/admin`,
// role admin): the report queue with dismiss / take down, repeated offenders,
// every file with filters (each ready file with re-run buttons for what its kind has:
// transcode, thumbnails, variants), storage and usage over time (charts), and storage
// and quota per user. The APIs check the roles; the links are only hidden from others.
import { admin, ApiError, moderation, REPROCESS_KINDS } from './api'
import type { AdminFileFilter, FileSummary, ReprocessTarget, Report, Usage } from './api'
import { overTime } from './admincharts'
import { deadLetterSection } from './deadletters'
import { formatBytes, formatDate, h } from './dom'

function problem(error: unknown): string {
  return error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)
}

export function renderModeration(root: HTMLElement): () => void {
  let alive = true
  const note = h('p', { class: 'error', id: 'moderation-error', role: 'alert' })
  const status = h('select', { id: 'report-status', 'aria-label': 'Report status' },
    ...['open', 'dismissed', 'actioned'].map((s) => h('option', { value: s }, s)))
  const queue = h('tbody', { id: 'report-queue' })
  const offenders = h('tbody', { id: 'offenders' })
  root.append(
    h('h2', null, 'Moderation'), note,
    h('section', null, h('h3', null, 'Reports'),
      h('label', { class: 'inline' }, 'Status ', status),
      h('table', { class: 'small' },
        h('thead', null, h('tr', null, ['reported', 'file', 'owner (takedowns / reports)', 'reporter', 'reason', 'state', ''].map((c) => h('th', null, c)))),
        queue)),
    h('section', null, h('h3', null, 'Repeated offenders'),
      h('p', { class: 'muted small' }, 'Suspend a repeated offender through identity\'s admin API: PUT /v1/admin/users/{id}/suspension with a reason (DELETE reinstates).'),
      h('table', { class: 'small' },
        h('thead', null, h('tr', null, ['owner', 'files taken down', 'reports', 'account'].map((c) => h('th', null, c)))),
        offenders)),
  )

  async function act(report: Report, action: 'dismiss' | 'takedown'): Promise<void> {
    note.textContent = ''
    try {
      if (action === 'dismiss') {
        await moderation.dismiss(report.file_id, report.report_id, prompt('Note (optional)') ?? '')
      } else {
        const reason = prompt('Reason for the takedown (the owner sees it)', report.reason)
        if (!reason) return
        await moderation.takeDown(report.file_id, reason)
      }
      // The catalog projects the event shortly: reload a little later.
      setTimeout(() => void load(), 500)
    } catch (error) {
      note.textContent = problem(error)
    }
  }

  async function load(): Promise<void> {
    try {
      const [page, worst] = await Promise.all([moderation.reports(status.value), moderation.offenders()])
      if (!alive) return
      queue.replaceChildren(...(page.items.length ? page.items.map((r) => h('tr', { dataset: { report: r.report_id } },
        h('td', null, formatDate(r.reported_at)),
        h('td', null, h('a', { href: `#/files/${r.file_id}` }, r.filename ?? r.file_id), r.kind ? ` (${r.kind})` : ''),
        h('td', null, `${r.owner} (${r.owner_takedowns} / ${r.owner_reports})`),
        h('td', null, r.reporter),
        h('td', null, r.reason),
        h('td', null, r.taken_down ? 'taken down' : r.status),
        h('td', null, r.status === 'open'
          ? [h('button', { type: 'button', class: 'secondary dismiss', onclick: () => void act(r, 'dismiss') }, 'Dismiss'), ' ',
             h('button', { type: 'button', class: 'danger takedown', onclick: () => void act(r, 'takedown') }, 'Take down')]
          : (r.resolved_by ?? '')),
      )) : [h('tr', null, h('td', { class: 'muted' }, 'No reports'))]))
      offenders.replaceChildren(...worst.map((o) => h('tr', null,
        h('td', null, o.owner), h('td', null, String(o.takedowns)), h('td', null, String(o.reports)),
        h('td', null, o.account_status ?? 'active'))))
    } catch (error) {
      if (alive) note.textContent = problem(error)
    }
  }

  status.addEventListener('change', () => void load())
  void load()
  return () => { alive = false }
}

const FILTERS: [keyof AdminFileFilter, string, string][] = [
  ['owner', 'Owner', 'text'],
  ['kind', 'Kind', 'text'],
  ['status', 'Status', 'text'],
  ['min_size', 'Min bytes', 'number'],
  ['max_size', 'Max bytes', 'number'],
  ['since', 'Since', 'date'],
  ['until', 'Until', 'date'],
]

export function renderAdmin(root: HTMLElement): () => void {
  let alive = true
  const note = h('p', { class: 'error', id: 'admin-error', role: 'alert' })
  const notice = h('p', { class: 'muted', id: 'admin-notice', role: 'status' })
  const inputs = FILTERS.map(([name, label, type]) => [name, h('input', { type, name, 'aria-label': label, placeholder: label })] as const)
  const failed = h('input', { type: 'checkbox', name: 'failed' })
  const takenDown = h('input', { type: 'checkbox', name: 'taken_down' })
  const files = h('tbody', { id: 'admin-files' })
  const usage = h('tbody', { id: 'admin-usage' })
  const charts = overTime((error) => { if (alive) note.textContent = problem(error) })
  const form = h('form', { class: 'inline', id: 'admin-filters', onsubmit: (e: Event) => { e.preventDefault(); void loadFiles() } },
    ...inputs.map(([, input]) => input),
    h('label', null, failed, ' failed processing'), h('label', null, takenDown, ' taken down'),
    h('button', { type: 'submit' }, 'Filter'))
  const processing = h('div', { id: 'admin-processing' })
  const storage = h('tbody', { id: 'admin-storage' })
  const audit = h('tbody', { id: 'admin-audit' })
  const auditType = h('input', { type: 'text', placeholder: 'type prefix, e.g. file.taken_down', 'aria-label': 'Event type' })
  const auditWho = h('input', { type: 'text', placeholder: 'actor', 'aria-label': 'Actor' })
  const auditSubject = h('input', { type: 'text', placeholder: 'owner / user', 'aria-label': 'Owner or user' })
  root.append(
    h('h2', null, 'Admin'), note, notice,
    h('section', null, h('h3', null, 'Processing'), processing),
    deadLetterSection(() => alive),
    h('section', null, h('h3', null, 'Storage (now, per bucket and kind)'),
      h('table', { class: 'small' }, h('thead', null, h('tr', null, ['bucket', 'kind', 'bytes'].map((c) => h('th', null, c)))), storage)),
    charts.element,
    h('section', null, h('h3', null, 'Users: storage, plan, quota and status'),
      h('p', { class: 'muted small' }, 'A quota set here replaces the plan\'s for that user (an empty field keeps the plan\'s); the gateway enforces it on the next upload. Plans and suspension are changed through the identity admin API.'),
      h('table', { class: 'small' },
        h('thead', null, h('tr', null, ['owner', 'files', 'originals', 'by kind', 'derived', 'plan', 'quota', 'change quota', 'account'].map((c) => h('th', null, c)))),
        usage)),
    h('section', null, h('h3', null, 'Files'), form,
      h('table', { class: 'small' },
        h('thead', null, h('tr', null, ['uploaded', 'file', 'owner', 'kind', 'size', 'status', 'processing', 're-run'].map((c) => h('th', null, c)))),
        files)),
    h('section', null, h('h3', null, 'Audit log'),
      h('form', { class: 'inline', onsubmit: (e: Event) => { e.preventDefault(); void loadAudit() } },
        auditType, auditWho, auditSubject, h('button', { type: 'submit' }, 'Filter')),
      h('table', { class: 'small' },
        h('thead', null, h('tr', null, ['when', 'event', 'actor', 'concerns', 'file'].map((c) => h('th', null, c)))),
        audit)),
  )

  async function loadAudit(): Promise<void> {
    try {
      const page = await admin.audit({ type: auditType.value || undefined, actor: auditWho.value || undefined, subject: auditSubject.value || undefined })
      if (!alive) return
      audit.replaceChildren(...page.items.map((e) => h('tr', null,
        h('td', null, formatDate(e.occurred_at)), h('td', { class: 'mono' }, e.type),
        h('td', null, e.actor ?? e.producer ?? ''), h('td', null, e.subject ?? ''),
        h('td', null, e.file_id ? h('a', { href: `#/files/${e.file_id}` }, e.file_id.slice(0, 8)) : ''))))
    } catch (error) {
      if (alive) note.textContent = problem(error)
    }
  }

  async function loadOperations(): Promise<void> {
    try {
      const [jobs, bytes] = await Promise.all([admin.processing(), admin.storage()])
      if (!alive) return
      processing.replaceChildren(
        h('p', null, Object.entries(jobs.statuses).map(([service, counts]) =>
          `${service}: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}`).join(' · ') || 'no jobs'),
        h('table', { class: 'small' },
          h('thead', null, h('tr', null, ['failed', 'file', 'owner', 'reason'].map((c) => h('th', null, c)))),
          h('tbody', null, jobs.failed.map((j) => h('tr', null,
            h('td', null, j.rerun ? `${j.service} re-run` : j.service),
            h('td', null, h('a', { href: `#/files/${j.file_id}` }, j.filename)),
            h('td', null, j.owner),
            h('td', null, h('span', { class: 'mono' }, j.error ?? ''),
              j.rerun ? ' (re-run failed; the earlier renditions are still served)' : '')))))
      )
      storage.replaceChildren(...bytes.totals.map((t) => h('tr', null,
        h('td', null, t.bucket), h('td', null, t.kind), h('td', null, formatBytes(t.added_bytes)))))
    } catch (error) {
      if (alive) note.textContent = problem(error)
    }
  }

  // A re-run is a command: the gateway appends it and the owning worker acts on it, so the
  // answer is only "requested"; the file's processing column shows the outcome later.
  async function rerun(file: FileSummary, target: ReprocessTarget): Promise<void> {
    note.textContent = ''
    notice.textContent = ''
    if (!confirm(`Make the ${target} of ${file.filename} again? The current ones are replaced.`)) return
    try {
      await admin.reprocess(file.file_id, target)
      if (alive) notice.textContent = `Re-run of ${target} requested for ${file.filename}.`
    } catch (error) {
      if (alive) note.textContent = problem(error)
    }
  }

  function rerunButtons(file: FileSummary): (HTMLElement | string)[] {
    if (file.status !== 'ready' || file.taken_down_reason) return []
    const targets = (Object.keys(REPROCESS_KINDS) as ReprocessTarget[])
      .filter((target) => file.kind !== null && REPROCESS_KINDS[target].includes(file.kind))
    return targets.flatMap((target, i) => [
      ...(i ? [' '] : []),
      h('button', { type: 'button', class: `secondary small rerun-${target}`, onclick: () => void rerun(file, target) }, target),
    ])
  }

  async function loadFiles(): Promise<void> {
    const filter: AdminFileFilter = {}
    for (const [name, input] of inputs) {
      if (!input.value) continue
      const value = input.type === 'date' ? new Date(input.value).toISOString() : input.value
      Object.assign(filter, { [name]: input.type === 'number' ? Number(value) : value })
    }
    if (failed.checked) filter.failed = 'true'
    if (takenDown.checked) filter.taken_down = 'true'
    note.textContent = ''
    try {
      const page = await admin.files(filter)
      if (!alive) return
      files.replaceChildren(...(page.items.length ? page.items.map((f) => h('tr', { dataset: { file: f.file_id } },
        h('td', null, formatDate(f.created_at)),
        h('td', null, h('a', { href: `#/files/${f.file_id}` }, f.filename)),
        h('td', null, f.owner), h('td', null, f.kind ?? '—'), h('td', null, formatBytes(f.size)),
        h('td', null, f.taken_down_reason ? `taken down: ${f.taken_down_reason}` : f.status),
        h('td', null, [f.transcode_error, f.thumbnail_error].filter(Boolean).join(', ') || `${f.transcode_status ?? '—'} / ${f.thumbnail_status ?? '—'}`),
        h('td', null, rerunButtons(f)),
      )) : [h('tr', null, h('td', { class: 'muted' }, 'No files'))]))
    } catch (error) {
      if (alive) note.textContent = problem(error)
    }
  }

  async function loadUsage(): Promise<void> {
    try {
      const page = await admin.usage()
      if (!alive) return
      usage.replaceChildren(...page.items.map((u) => h('tr', { dataset: { owner: u.owner } },
        h('td', null, h('a', { href: '#/admin', title: 'usage over time', onclick: (e: Event) => { e.preventDefault(); void charts.showUser(u.owner) } }, u.owner)),
        h('td', null, String(u.files)), h('td', null, formatBytes(u.original_bytes)),
        h('td', null, Object.entries(u.bytes_by_kind).map(([k, v]) => `${k} ${formatBytes(v)}`).join(', ')),
        h('td', null, formatBytes(u.derived_bytes)), h('td', null, u.plan ?? 'default'),
        h('td', { class: 'quota' }, quotaText(u)), h('td', null, quotaForm(u)),
        h('td', null, u.account_status ?? 'active'))))
    } catch (error) {
      if (alive) note.textContent = problem(error)
    }
  }

  function quotaText(u: Usage): string {
    const files = `${u.quota.files} files${u.quota.override_files === null ? '' : ' (set)'}`
    const bytes = `${formatBytes(u.quota.bytes)}${u.quota.override_bytes === null ? '' : ' (set)'}`
    return `${files} · ${bytes}`
  }

  function quotaForm(u: Usage): HTMLElement {
    const files = h('input', { type: 'number', min: '0', step: '1', name: 'files', placeholder: 'files', 'aria-label': `Files quota of ${u.owner}`, value: u.quota.override_files?.toString() ?? '' })
    const bytes = h('input', { type: 'number', min: '0', step: '1', name: 'bytes', placeholder: 'bytes', 'aria-label': `Bytes quota of ${u.owner}`, value: u.quota.override_bytes?.toString() ?? '' })
    const count = (input: HTMLInputElement): number | null => (input.value === '' ? null : Number(input.value))
    async function save(filesValue: number | null, bytesValue: number | null): Promise<void> {
      note.textContent = ''
      try {
        await admin.setQuota(u.owner, filesValue, bytesValue)
        // The catalog shows it once the event is ingested: reload shortly after.
        window.setTimeout(() => { if (alive) void loadUsage() }, 1000)
      } catch (error) {
        if (alive) note.textContent = problem(error)
      }
    }
    return h('form', { class: 'inline quota-form', onsubmit: (e: Event) => { e.preventDefault(); void save(count(files), count(bytes)) } },
      files, bytes, h('button', { type: 'submit' }, 'Set'),
      h('button', { type: 'button', onclick: () => void save(null, null) }, 'Plan\'s'))
  }

  void loadUsage()
  void charts.load()
  void loadFiles()
  void loadOperations()
  void loadAudit()
  return () => {
    alive = false
    charts.destroy()
  }
}
