// mediaplane web UI: sign-in, upload (Uppy), library, file and account pages.
// Hash routes keep the edge's job simple (it serves dist/ as static files):
//   #/library?q=&tag=&kind=&status=   #/upload   #/files/<id>   #/account
//   #/device?user_code= (also reached as /device?user_code=, identity's verification_uri)
// Signed out: #/ (sign in)  #/signup  #/verify-email?token=  #/forgot-password
//   #/reset-password?token=   and /callback (the OAuth redirect URI).
import type { Uppy } from '@uppy/core'

import { renderAccount } from './account'
import { renderAdminAnalytics } from './analytics'
import { identity, onUnauthorized } from './api'
import { accessToken, claims, CLIENT_ID, clearTokens, endSession, finishSignIn, isAdmin, signedIn, userName } from './auth'
import { renderDevice } from './device'
import { h } from './dom'
import { live } from './events'
import { renderFile } from './filepage'
import { renderLibrary } from './library'
import { renderForgotPassword, renderResetPassword, renderSignIn, renderSignUp, renderVerifyEmail } from './signin'
import './style.css'
import { createUploader, parseTags } from './upload'

const app = document.getElementById('app')!
let dispose: (() => void) | null = null
let uploader: Uppy<any, any> | null = null
let uploadPanel: HTMLElement | null = null
let uploadTags: HTMLInputElement | null = null
let shownName: string | null = null

function leave(): void {
  live.stop()
  uploader?.destroy()
  uploader = null
  uploadPanel = null
}

async function signOut(): Promise<void> {
  leave()
  shownName = null
  await endSession()
  location.hash = '#/'
  void route()
}

onUnauthorized(() => {
  live.stop()
  void route()
})

function ensureUploader(): HTMLElement {
  if (uploadPanel) return uploadPanel
  uploadTags = h('input', { type: 'text', id: 'upload-tags', placeholder: 'e.g. holiday, 2026', 'aria-label': 'Tags for new uploads' })
  const keepLocation = h('input', { type: 'checkbox', id: 'upload-keep-location' })
  const target = h('div', { id: 'uppy' })
  uploadPanel = h('section', { class: 'upload-panel' },
    h('h2', null, 'Upload'),
    h('label', { class: 'inline' }, 'Tags for new uploads ', uploadTags),
    h('label', { class: 'inline' }, keepLocation, ' Keep photo locations (GPS); off: stripped from the metadata'),
    target,
    h('p', { class: 'muted small' }, 'Uploaded files appear in the ', h('a', { href: '#/library' }, 'library'), ' as they are verified and processed.'),
  )
  uploader = createUploader(target, {
    defaultTags: () => parseTags(uploadTags?.value),
    keepLocation: () => keepLocation.checked,
  })
  return uploadPanel
}

function shell(active: string): HTMLElement {
  const liveDot = h('span', { class: 'live', id: 'live', title: 'live updates' }, '●')
  const off = live.onState((state) => {
    liveDot.className = `live live-${state}`
    liveDot.title = `live updates: ${state}`
    liveDot.dataset.state = state
  })
  const main = h('main', { id: 'view' })
  const user = h('a', { href: '#/account', class: active === 'account' ? 'user active' : 'user', id: 'user' }, shownName ?? userName())
  const token = claims()
  if (shownName === null && token?.client_id === CLIENT_ID) {
    // Identity's access tokens name the user by id: show the account's email (same user only).
    identity.me().then((account) => {
      if (account.user_id !== token.sub) return
      shownName = account.email
      user.textContent = account.email
    }, () => undefined)
  }
  app.replaceChildren(
    h('header', null,
      h('a', { class: 'brand', href: '#/library' }, 'mediaplane'),
      h('nav', null,
        h('a', { href: '#/library', class: active === 'library' ? 'active' : undefined }, 'Library'),
        h('a', { href: '#/upload', class: active === 'upload' ? 'active' : undefined }, 'Upload'),
        isAdmin() ? h('a', { href: '#/admin/analytics', id: 'nav-analytics', class: active === 'analytics' ? 'active' : undefined }, 'Analytics') : null,
      ),
      h('span', { class: 'spacer' }),
      liveDot,
      user,
      h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: () => void signOut() }, 'Sign out'),
    ),
    main,
  )
  const previous = dispose
  dispose = () => {
    off()
    previous?.()
  }
  return main
}

function signedOutPage(path: string, params: URLSearchParams, message = ''): void {
  live.stop()
  const main = h('main', { id: 'view' })
  app.replaceChildren(h('header', null, h('a', { class: 'brand', href: '#/' }, 'mediaplane')), main)
  const token = params.get('token')
  if (path === '/signup') renderSignUp(main)
  else if (path === '/verify-email') renderVerifyEmail(main, token)
  else if (path === '/forgot-password') renderForgotPassword(main)
  else if (path === '/reset-password') renderResetPassword(main, token)
  else {
    document.title = 'Sign in · mediaplane'
    // Back to the page asked for, with its query (e.g. the device page's user code).
    const query = params.toString()
    const back = path && path !== '/' && path !== '/signin' ? `#${path}${query ? `?${query}` : ''}` : '#/library'
    renderSignIn(main, () => void route(), { message, returnHash: back })
  }
}

const PUBLIC_PAGES = new Set(['/signup', '/verify-email', '/forgot-password', '/reset-password'])

async function route(): Promise<void> {
  dispose?.()
  dispose = null
  if (location.pathname === '/callback') {
    let message = ''
    try {
      // No hashchange event: this call renders the page.
      history.replaceState(null, '', `/${await finishSignIn()}`)
      shownName = null
    } catch (error) {
      message = `Sign-in failed: ${error instanceof Error ? error.message : String(error)}`
      clearTokens()
    }
    if (message) {
      signedOutPage('/', new URLSearchParams(), message)
      return
    }
  }
  if (location.pathname === '/device') {
    // Identity's verification_uri(_complete): the same page as a hash route. Only the
    // user code is kept (RFC 8628 puts it in the URL; it is no bearer credential).
    const userCode = new URLSearchParams(location.search).get('user_code')
    history.replaceState(null, '', `/#/device${userCode ? `?${new URLSearchParams({ user_code: userCode })}` : ''}`)
  }
  const [path = '', queryText = ''] = location.hash.replace(/^#/, '').split('?')
  const params = new URLSearchParams(queryText)

  // A refresh that cannot reach identity (offline) signs out rather than leaving a blank page.
  if (PUBLIC_PAGES.has(path) || !signedIn() || !(await accessToken().catch(() => null))) {
    if (!PUBLIC_PAGES.has(path)) clearTokens()
    signedOutPage(path, params)
    return
  }
  live.start()

  const fileMatch = /^\/files\/([0-9a-fA-F-]{36})$/.exec(path)
  let stop: (() => void) | null = null
  if (fileMatch) {
    stop = renderFile(shell('library'), fileMatch[1]!)
  } else if (path === '/upload') {
    const main = shell('upload')
    document.title = 'Upload · mediaplane'
    main.append(ensureUploader())
  } else if (path === '/device') {
    document.title = 'Sign in a device · mediaplane'
    stop = renderDevice(shell('device'), params.get('user_code'))
  } else if (path === '/admin/analytics') {
    document.title = 'Analytics · mediaplane'
    stop = renderAdminAnalytics(shell('analytics'))
  } else if (path === '/account') {
    document.title = 'Account · mediaplane'
    stop = renderAccount(shell('account'), () => {
      leave()
      shownName = null
      clearTokens()
      location.hash = '#/'
    })
  } else {
    document.title = 'Library · mediaplane'
    stop = renderLibrary(shell('library'), params)
  }
  if (stop) {
    const previous = dispose as (() => void) | null
    const stopPage = stop
    dispose = () => {
      stopPage()
      previous?.()
    }
  }
}

window.addEventListener('hashchange', () => void route())
void route()
