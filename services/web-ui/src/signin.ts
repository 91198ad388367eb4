// The signed-out pages: sign in (password, upstream provider, dev user name in
// dev mode only), sign up, verify email, forgot and reset password. Accounts are
// identity's (`/v1/account/*`, a session cookie); the API token comes from the
// code + PKCE flow started here (auth.ts).
import { ApiError, devMode, devToken, federationStart, identity } from './api'
import { authorizePath, expired, useToken } from './auth'
import { h } from './dom'

type Done = () => void

function problemText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function card(title: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: 'signin' }, h('h2', null, title), ...children)
}

/** A path identity sent a signed-out browser back with (`?return_to=`), if it is one of its own. */
function identityReturn(): string | null {
  const value = new URLSearchParams(location.search).get('return_to')
  return value && value.startsWith('/oauth/') ? value : null
}

async function continueSignIn(returnHash: string): Promise<void> {
  location.assign(identityReturn() ?? (await authorizePath(returnHash)))
}

export function renderSignIn(root: HTMLElement, done: Done, options: { message?: string; returnHash?: string } = {}): void {
  const returnHash = options.returnHash ?? '#/library'
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'username', id: 'signin-email' })
  const password = h('input', { type: 'password', name: 'password', required: true, autocomplete: 'current-password', id: 'signin-password' })
  const note = h('p', { class: 'error', id: 'signin-error', role: 'alert' }, options.message ?? '')
  const extras = h('div', { id: 'signin-extras' })
  const links = h('p', { class: 'small' },
    h('a', { href: '#/signup', id: 'signup-link' }, 'Create an account'), ' · ',
    h('a', { href: '#/forgot-password', id: 'forgot-link' }, 'Forgot your password?'),
  )
  root.append(
    card('Sign in',
      h('form', {
        id: 'password-form',
        onsubmit: async (e: Event) => {
          e.preventDefault()
          note.textContent = ''
          try {
            await identity.signIn(email.value.trim(), password.value)
            await continueSignIn(returnHash)
          } catch (error) {
            note.textContent = error instanceof ApiError && error.code === 'email_not_verified'
              ? 'Verify your email first: open the link in the mail we sent.'
              : `Sign-in failed: ${problemText(error)}`
          }
        },
      },
        h('label', null, 'Email', email),
        h('label', null, 'Password', password),
        h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in'),
      ),
      extras,
      links,
      note,
    ),
  )
  // Still signed in at identity (a new tab, or the tokens expired): one click on.
  void identity.me().then(
    (account) => {
      extras.prepend(h('p', { id: 'signed-in-as' },
        h('button', { type: 'button', class: 'secondary', onclick: () => void continueSignIn(returnHash) }, `Continue as ${account.email}`)))
    },
    () => undefined,
  )
  void identity.options().then(
    (found) => {
      if (found.registration === 'closed') links.querySelector('#signup-link')?.replaceWith('Registration is closed')
      if (!found.upstream) return
      const host = new URL(found.upstream).host
      extras.append(h('p', null, h('button', {
        type: 'button',
        class: 'secondary',
        id: 'upstream-signin',
        onclick: async () => {
          // The upstream signs in, identity makes the session, then the usual code + PKCE.
          location.assign(federationStart(identityReturn() ?? (await authorizePath(returnHash))))
        },
      }, `Sign in with ${host}`)))
    },
    () => undefined,
  )
  // The user-name box exists only when the server says dev mode is on.
  void devMode().then((on) => {
    if (on) extras.append(devSignIn(done, note))
  })
}

function devSignIn(done: Done, note: HTMLElement): HTMLElement {
  const name = h('input', { type: 'text', name: 'user', placeholder: 'user name', required: true, autocomplete: 'off', id: 'user-name' })
  const token = h('textarea', { name: 'token', rows: 3, placeholder: 'eyJhbGciOi…', id: 'token' })
  return h('details', { class: 'dev', id: 'dev-signin', open: true },
    h('summary', null, 'Development mode'),
    h('form', {
      id: 'signin-form',
      onsubmit: async (e: Event) => {
        e.preventDefault()
        note.textContent = ''
        try {
          useToken(await devToken(name.value.trim()))
          done()
        } catch (error) {
          note.textContent = `Sign-in failed: ${problemText(error)}`
        }
      },
    },
      h('label', null, 'Any user name, no password', name),
      h('button', { type: 'submit' }, 'Sign in as this user'),
    ),
    h('form', {
      id: 'token-form',
      onsubmit: (e: Event) => {
        e.preventDefault()
        const value = token.value.trim().replace(/^Bearer\s+/i, '')
        if (expired(value)) {
          note.textContent = 'That token is not a JWT, or it has expired.'
          return
        }
        useToken(value)
        done()
      },
    },
      h('label', null, 'Or paste a bearer token (JWT)', token),
      h('button', { type: 'submit', class: 'secondary' }, 'Use token'),
    ),
  )
}

export function renderSignUp(root: HTMLElement): void {
  const email = h('input', { type: 'email', required: true, autocomplete: 'username', id: 'signup-email' })
  const password = h('input', { type: 'password', required: true, minlength: 12, autocomplete: 'new-password', id: 'signup-password' })
  const note = h('p', { id: 'signup-result', role: 'status' })
  root.append(card('Create an account',
    h('form', {
      id: 'signup-form',
      onsubmit: async (e: Event) => {
        e.preventDefault()
        note.className = ''
        try {
          await identity.register(email.value.trim(), password.value)
          note.textContent = `Check your email: we sent a link to ${email.value.trim()} to verify it.`
        } catch (error) {
          note.className = 'error'
          note.textContent = `Could not register: ${problemText(error)}`
        }
      },
    },
      h('label', null, 'Email', email),
      h('label', null, 'Password (at least 12 characters)', password),
      h('button', { type: 'submit', id: 'signup-submit' }, 'Create account'),
    ),
    note,
    h('p', { class: 'small' }, h('a', { href: '#/' }, 'Back to sign in')),
  ))
}

/** The mailed link `#/verify-email?token=…`: the token is POSTed, then dropped from the address bar. */
export function renderVerifyEmail(root: HTMLElement, token: string | null): void {
  const note = h('p', { id: 'verify-result', role: 'status' }, 'Verifying…')
  history.replaceState(null, '', '/#/verify-email')
  root.append(card('Verify your email', note, h('p', { class: 'small' }, h('a', { href: '#/', id: 'verified-signin' }, 'Sign in'))))
  if (!token) {
    note.className = 'error'
    note.textContent = 'This link has no code: open the link from the mail.'
    return
  }
  identity.verifyEmail(token).then(
    () => {
      note.textContent = 'Your email is verified: you can sign in.'
      note.dataset.state = 'verified'
    },
    (error) => {
      note.className = 'error'
      note.textContent = error instanceof ApiError && error.code === 'link_invalid'
        ? 'This link was already used or has expired.'
        : `Could not verify: ${problemText(error)}`
      note.dataset.state = 'failed'
    },
  )
}

export function renderForgotPassword(root: HTMLElement): void {
  const email = h('input', { type: 'email', required: true, autocomplete: 'username', id: 'forgot-email' })
  const note = h('p', { id: 'forgot-result', role: 'status' })
  root.append(card('Forgot your password?',
    h('form', {
      onsubmit: async (e: Event) => {
        e.preventDefault()
        try {
          await identity.requestReset(email.value.trim())
          note.textContent = 'If that address has an account, a reset link is on its way.'
        } catch (error) {
          note.textContent = problemText(error)
        }
      },
    },
      h('label', null, 'Email', email),
      h('button', { type: 'submit', id: 'forgot-submit' }, 'Mail me a reset link'),
    ),
    note,
    h('p', { class: 'small' }, h('a', { href: '#/' }, 'Back to sign in')),
  ))
}

export function renderResetPassword(root: HTMLElement, token: string | null): void {
  history.replaceState(null, '', '/#/reset-password')
  const password = h('input', { type: 'password', required: true, minlength: 12, autocomplete: 'new-password', id: 'reset-password' })
  const note = h('p', { id: 'reset-result', role: 'status' })
  root.append(card('Choose a new password',
    h('form', {
      onsubmit: async (e: Event) => {
        e.preventDefault()
        note.className = ''
        if (!token) {
          note.className = 'error'
          note.textContent = 'This link has no code: open the link from the mail.'
          return
        }
        try {
          await identity.resetPassword(token, password.value)
          note.textContent = 'Password changed, and every session signed out: sign in again.'
          note.dataset.state = 'done'
        } catch (error) {
          note.className = 'error'
          note.textContent = `Could not change it: ${problemText(error)}`
        }
      },
    },
      h('label', null, 'New password (at least 12 characters)', password),
      h('button', { type: 'submit', id: 'reset-submit' }, 'Set password'),
    ),
    note,
    h('p', { class: 'small' }, h('a', { href: '#/' }, 'Sign in')),
  ))
}
