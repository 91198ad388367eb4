// The account page (`#/account`): profile, sessions, personal access tokens and
// linked identities, all from identity's account API with the session cookie.
import { ApiError, federationStart, identity, PAT_SCOPES } from './api'
import type { LinkedIdentity, PatView, SessionEntry } from './api'
import { h } from './dom'

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—'
}

function section(title: string, id: string, ...children: Node[]): HTMLElement {
  return h('section', { class: 'account-section', id }, h('h3', null, title), ...children)
}

export function renderAccount(root: HTMLElement, onSignedOutEverywhere: () => void): () => void {
  let alive = true
  const note = h('p', { class: 'error', id: 'account-error', role: 'alert' })
  const fail = (error: unknown) => {
    note.textContent = error instanceof Error ? error.message : String(error)
  }
  const profile = h('dl', { class: 'facts', id: 'profile' })
  const sessions = h('tbody', { id: 'sessions' })
  const tokens = h('tbody', { id: 'tokens' })
  const identities = h('tbody', { id: 'identities' })
  const created = h('div', { id: 'token-created' })
  root.append(h('h2', null, 'Account'), note)

  async function loadSessions(): Promise<void> {
    const rows: SessionEntry[] = await identity.sessions()
    if (!alive) return
    sessions.replaceChildren(...rows.map((s) => h('tr', { dataset: { id: s.id } },
      h('td', null, s.user_agent ?? 'unknown browser', s.current ? h('span', { class: 'badge status-ready' }, ' this one') : null),
      h('td', null, when(s.created_at)),
      h('td', null, s.current ? '' : h('button', {
        type: 'button', class: 'secondary end-session',
        onclick: () => identity.endSession(s.id).then(loadSessions, fail),
      }, 'Sign out')),
    )))
  }

  async function loadTokens(): Promise<void> {
    const rows: PatView[] = await identity.tokens()
    if (!alive) return
    tokens.replaceChildren(...rows.map((t) => h('tr', { dataset: { id: t.id, name: t.name, revoked: String(t.revoked) } },
      h('td', null, t.name),
      h('td', null, t.scopes.join(' ')),
      h('td', null, when(t.expires_at)),
      h('td', null, when(t.last_used_at)),
      h('td', { class: 'token-state' }, t.revoked ? 'revoked' : h('button', {
        type: 'button', class: 'danger revoke-token',
        onclick: () => identity.revokeToken(t.id).then(loadTokens, fail),
      }, 'Revoke')),
    )))
  }

  async function loadIdentities(): Promise<void> {
    const rows: LinkedIdentity[] = await identity.identities()
    if (!alive) return
    identities.replaceChildren(...(rows.length ? rows.map((i) => h('tr', null,
      h('td', null, new URL(i.issuer).host),
      h('td', { class: 'mono' }, i.subject),
      h('td', null, when(i.linked_at)),
      h('td', null, h('button', {
        type: 'button', class: 'secondary',
        onclick: () => identity.unlink(i.id).then(loadIdentities, fail),
      }, 'Unlink')),
    )) : [h('tr', null, h('td', { class: 'muted' }, 'None'))]))
  }

  const name = h('input', { type: 'text', required: true, maxlength: 100, id: 'token-name', placeholder: 'e.g. laptop backup script' })
  const days = h('input', { type: 'number', min: 1, max: 365, value: '30', required: true, id: 'token-days' })
  const scopeBoxes = PAT_SCOPES.map((scope) => h('input', { type: 'checkbox', value: scope, checked: scope === 'files:read', name: 'scope' }))
  const tokenForm = h('form', {
    id: 'token-form',
    class: 'inline',
    onsubmit: async (e: Event) => {
      e.preventDefault()
      note.textContent = ''
      const scopes = scopeBoxes.filter((box) => box.checked).map((box) => box.value)
      try {
        const made = await identity.createToken(name.value.trim(), scopes, Number(days.value))
        created.replaceChildren(h('p', { class: 'token-once' },
          'Your new token, shown this once: copy it now. ',
          h('code', { class: 'mono', id: 'new-token' }, made.token)))
        name.value = ''
        await loadTokens()
      } catch (error) {
        fail(error)
      }
    },
  },
    h('label', null, 'Name ', name),
    ...scopeBoxes.map((box) => h('label', { class: 'scope' }, box, ` ${box.value}`)),
    h('label', null, 'Expires in (days) ', days),
    h('button', { type: 'submit', id: 'token-create' }, 'Create token'),
  )

  identity.me().then(
    (account) => {
      if (!alive) return
      profile.replaceChildren(
        h('dt', null, 'Email'), h('dd', { id: 'profile-email' }, account.email, account.email_verified ? ' (verified)' : ' (not verified)'),
        h('dt', null, 'Role'), h('dd', { id: 'profile-role' }, account.role),
        h('dt', null, 'Plan'), h('dd', { id: 'profile-plan' }, account.plan),
        h('dt', null, 'User id'), h('dd', { class: 'mono' }, account.user_id),
      )
      root.append(
        section('Profile', 'account-profile', profile),
        section('Sessions', 'account-sessions',
          h('table', null, h('thead', null, h('tr', null, h('th', null, 'Browser'), h('th', null, 'Signed in'), h('th'))), sessions),
          h('p', null, h('button', {
            type: 'button', class: 'danger', id: 'sign-out-everywhere',
            onclick: () => identity.signOutEverywhere().then(onSignedOutEverywhere, fail),
          }, 'Sign out everywhere')),
        ),
        section('Personal access tokens', 'account-tokens',
          h('p', { class: 'muted small' }, 'For scripts and the CLI: exchanged at /oauth/token for short-lived access tokens. Stored hashed; revoke any time.'),
          tokenForm, created,
          h('table', null, h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Scopes'), h('th', null, 'Expires'), h('th', null, 'Last used'), h('th'))), tokens),
        ),
        section('Linked identities', 'account-identities',
          h('table', null, identities),
          h('p', { id: 'link-upstream' }),
        ),
      )
      void identity.options().then((options) => {
        if (!options.upstream || !alive) return
        root.querySelector('#link-upstream')?.append(h('button', {
          type: 'button', class: 'secondary',
          onclick: () => location.assign(federationStart('/#/account', true)),
        }, `Link an account at ${new URL(options.upstream).host}`))
      })
      Promise.all([loadSessions(), loadTokens(), loadIdentities()]).catch(fail)
    },
    (error) => {
      note.textContent = error instanceof ApiError && error.status === 401
        ? 'This page needs an account session: sign out and sign in with your email (a dev token has no account).'
        : String(error)
    },
  )
  return () => {
    alive = false
  }
}
