// Dead letters in the admin console (docs/runbooks/dlq.md as buttons): list them with
// filters, inspect one (headers, reason, payload), redrive one or every match, discard
// one with a note. The gateway's API checks the admin role and audits every action.
import { ApiError, deadLetters } from './api'
import type { DeadLetter, DeadLetterFilter } from './api'
import { formatDate, h } from './dom'

function problem(error: unknown): string {
  return error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)
}

export function deadLetterSection(isAlive: () => boolean): HTMLElement {
  const note = h('p', { class: 'error', id: 'dlq-error', role: 'alert' })
  const consumer = h('input', { type: 'text', name: 'consumer', placeholder: 'consumer or service', 'aria-label': 'Consumer' })
  const subject = h('input', { type: 'text', name: 'subject', placeholder: 'subject (wildcards)', 'aria-label': 'Original subject' })
  const reason = h('input', { type: 'text', name: 'reason', placeholder: 'reason contains', 'aria-label': 'Reason' })
  const rows = h('tbody', { id: 'dead-letters' })
  const detail = h('pre', { id: 'dead-letter-detail', class: 'mono small' })
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'More')
  let after = 0

  const filter = (): DeadLetterFilter => ({
    consumer: consumer.value || undefined,
    subject: subject.value || undefined,
    reason: reason.value || undefined,
  })

  async function act(run: () => Promise<unknown>): Promise<void> {
    note.textContent = ''
    try {
      await run()
      detail.textContent = ''
      await load(true)
    } catch (error) {
      note.textContent = problem(error)
    }
  }

  async function inspect(letter: DeadLetter): Promise<void> {
    note.textContent = ''
    try {
      const shown = await deadLetters.show(letter.sequence)
      detail.textContent = JSON.stringify(shown, null, 2)
    } catch (error) {
      note.textContent = problem(error)
    }
  }

  function row(letter: DeadLetter): HTMLElement {
    return h('tr', { dataset: { sequence: String(letter.sequence) } },
      h('td', null, String(letter.sequence)),
      h('td', null, letter.parked_at ? formatDate(letter.parked_at) : ''),
      h('td', null, letter.consumer),
      h('td', { class: 'mono' }, letter.subject),
      h('td', null, String(letter.deliveries)),
      h('td', { class: 'mono' }, letter.reason),
      h('td', null,
        h('button', { type: 'button', class: 'secondary inspect', onclick: () => void inspect(letter) }, 'Inspect'), ' ',
        h('button', { type: 'button', class: 'redrive', onclick: () => void act(() => deadLetters.redrive(letter.sequence)) }, 'Redrive'), ' ',
        h('button', {
          type: 'button', class: 'danger discard', onclick: () => {
            const why = prompt('Why discard it? (for the audit log)')
            if (why !== null) void act(() => deadLetters.discard(letter.sequence, why))
          },
        }, 'Discard')))
  }

  async function load(fresh: boolean): Promise<void> {
    if (fresh) after = 0
    try {
      const page = await deadLetters.list(filter(), after)
      if (!isAlive()) return
      const items = page.items.map(row)
      if (fresh) {
        rows.replaceChildren(...(items.length ? items : [h('tr', null, h('td', { class: 'muted' }, 'No dead letters'))]))
      } else {
        rows.append(...items)
      }
      after = page.next_after ?? after
      more.hidden = page.next_after === null
    } catch (error) {
      if (isAlive()) note.textContent = problem(error)
    }
  }

  more.addEventListener('click', () => void load(false))
  const redriveAll = h('button', {
    type: 'button', id: 'dlq-redrive-all', onclick: () => {
      if (confirm('Redrive every dead letter matching these filters?')) void act(() => deadLetters.redriveMatching(filter()))
    },
  }, 'Redrive all matching')
  void load(true)
  return h('section', null, h('h3', null, 'Dead letters'), note,
    h('form', { class: 'inline', id: 'dlq-filters', onsubmit: (e: Event) => { e.preventDefault(); void load(true) } },
      consumer, subject, reason, h('button', { type: 'submit' }, 'Filter'), redriveAll),
    h('table', { class: 'small' },
      h('thead', null, h('tr', null, ['#', 'parked', 'consumer', 'subject', 'tries', 'reason', ''].map((c) => h('th', null, c)))),
      rows),
    more, detail)
}
