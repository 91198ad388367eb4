// The device page (`/device`, shown as `#/device?user_code=`): approve or deny the
// code `mediaplane login` prints (RFC 8628). Identity's verification_uri points
// here; the decision is taken with identity's session cookie, as the account page's.
import { ApiError, identity } from './api'
import type { PendingDevice } from './api'
import { h } from './dom'

const INVALID = 'This code is unknown, has expired or was already used. Run “mediaplane login” again for a new one.'
const NO_SESSION = 'This page needs an account session: sign out and sign in with your email (a dev token has no account).'

function explain(error: unknown): string {
  if (error instanceof ApiError && error.code === 'device_code_invalid') return INVALID
  if (error instanceof ApiError && error.status === 401) return NO_SESSION
  return error instanceof Error ? error.message : String(error)
}

export function renderDevice(root: HTMLElement, userCode: string | null): () => void {
  let alive = true
  const code = h('input', {
    type: 'text', id: 'device-code', required: true, autocomplete: 'off', spellcheck: false,
    maxlength: 16, placeholder: 'BCDF-GHJK', value: userCode ?? '',
  })
  const result = h('p', { id: 'device-result', role: 'status' })
  const request = h('div', { id: 'device-request' })
  const done = (state: string, text: string, error = false) => {
    result.className = error ? 'error' : ''
    result.textContent = text
    result.dataset.state = state
  }

  async function decide(pending: PendingDevice, approve: boolean): Promise<void> {
    try {
      await identity.decideDevice(pending.user_code, approve)
      if (!alive) return
      request.replaceChildren()
      // The decided code leaves the address bar: a reload must not offer it again.
      history.replaceState(null, '', '/#/device')
      if (approve) done('approved', `Approved: ${pending.client_id} is signed in as you. You can go back to your terminal.`)
      else done('denied', `Denied: ${pending.client_id} was not signed in.`)
    } catch (error) {
      if (alive) done('failed', explain(error), true)
    }
  }

  async function lookUp(): Promise<void> {
    request.replaceChildren()
    done('looking', 'Looking up the code…')
    try {
      const [pending, account] = await Promise.all([identity.pendingDevice(code.value.trim()), identity.me()])
      if (!alive) return
      done('pending', '')
      request.replaceChildren(
        h('p', null, h('strong', { id: 'device-client' }, pending.client_id),
          ' asks to sign in as ', h('strong', null, account.email), ' with:'),
        h('ul', { id: 'device-scopes' }, ...pending.scopes.map((scope) => h('li', null, h('code', null, scope)))),
        h('p', null, 'Code ', h('code', { class: 'user-code', id: 'device-shown-code' }, pending.user_code),
          ': approve only if your device shows this code.'),
        h('p', { class: 'actions' },
          h('button', { type: 'button', id: 'device-approve', onclick: () => void decide(pending, true) }, 'Approve'),
          ' ',
          h('button', { type: 'button', class: 'secondary', id: 'device-deny', onclick: () => void decide(pending, false) }, 'Deny'),
        ),
      )
    } catch (error) {
      if (alive) done('failed', explain(error), true)
    }
  }

  root.append(
    h('section', { class: 'signin device' },
      h('h2', null, 'Sign in a device'),
      h('p', { class: 'muted small' }, 'Enter the code your device (e.g. ', h('code', null, 'mediaplane login'), ') shows.'),
      h('form', {
        id: 'device-form',
        onsubmit: (e: Event) => {
          e.preventDefault()
          void lookUp()
        },
      },
        h('label', null, 'Code', code),
        h('button', { type: 'submit', id: 'device-submit' }, 'Continue'),
      ),
      request,
      result,
    ),
  )
  if (userCode) void lookUp()
  return () => {
    alive = false
  }
}
