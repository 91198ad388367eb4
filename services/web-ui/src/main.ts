// mediaplane web UI: sign-in, upload (Uppy), library and file pages.
// Hash routes keep the edge's job simple (it serves dist/ as static files):
//   #/library?q=&tag=&kind=&status=   #/upload   #/files/<id>   (sign-in when no token)
import type { Uppy } from '@uppy/core'

import { ApiError, devToken, onUnauthorized } from './api'
import { clearToken, expired, getToken, setToken, userName } from './auth'
import { h } from './dom'
import { live } from './events'
import { renderFile } from './filepage'
import { renderLibrary } from './library'
import './style.css'
import { createUploader, parseTags } from './upload'

const app = document.getElementById('app')!
let dispose: (() => void) | null = null
let uploader: Uppy<any, any> | null = null
let uploadPanel: HTMLElement | null = null
let uploadTags: HTMLInputElement | null = null

function signOut(): void {
  clearToken()
  live.stop()
  uploader?.destroy()
  uploader = null
  uploadPanel = null
  location.hash = '#/'
  route()
}

onUnauthorized(() => {
  live.stop()
  route()
})

function renderSignIn(root: HTMLElement, message = ''): void {
  const name = h('input', { type: 'text', name: 'user', placeholder: 'user name', required: true, autocomplete: 'username', id: 'user-name' })
  const token = h('textarea', { name: 'token', rows: 3, placeholder: 'eyJhbGciOi…', id: 'token' })
  const note = h('p', { class: 'error', id: 'signin-error' }, message)
  root.append(
    h('section', { class: 'signin' },
      h('h2', null, 'Sign in'),
      h('form', {
        id: 'signin-form',
        onsubmit: async (e: Event) => {
          e.preventDefault()
          note.textContent = ''
          try {
            setToken(await devToken(name.value.trim()))
            route()
          } catch (error) {
            note.textContent = error instanceof ApiError && (error.status === 404 || error.status === 405)
              ? 'Development tokens are not enabled on this server: paste a token below.'
              : `Sign-in failed: ${error instanceof Error ? error.message : String(error)}`
          }
        },
      },
        h('label', null, 'User name (development mode)', name),
        h('button', { type: 'submit' }, 'Sign in'),
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
          setToken(value)
          route()
        },
      },
        h('label', null, 'Or paste a bearer token (JWT)', token),
        h('button', { type: 'submit', class: 'secondary' }, 'Use token'),
      ),
      note,
    ),
  )
}

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
  app.replaceChildren(
    h('header', null,
      h('a', { class: 'brand', href: '#/library' }, 'mediaplane'),
      h('nav', null,
        h('a', { href: '#/library', class: active === 'library' ? 'active' : undefined }, 'Library'),
        h('a', { href: '#/upload', class: active === 'upload' ? 'active' : undefined }, 'Upload'),
      ),
      h('span', { class: 'spacer' }),
      liveDot,
      h('span', { class: 'user', id: 'user' }, userName()),
      h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out'),
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

function route(): void {
  dispose?.()
  dispose = null
  const [path = '', queryText = ''] = location.hash.replace(/^#/, '').split('?')
  const params = new URLSearchParams(queryText)

  if (!getToken() || expired()) {
    clearToken()
    live.stop()
    const main = h('main', { id: 'view' })
    app.replaceChildren(h('header', null, h('span', { class: 'brand' }, 'mediaplane')), main)
    renderSignIn(main)
    return
  }
  live.start()

  const fileMatch = /^\/files\/([0-9a-fA-F-]{36})$/.exec(path)
  if (fileMatch) {
    const main = shell('library')
    const stop = renderFile(main, fileMatch[1]!)
    const previous = dispose as (() => void) | null
    dispose = () => {
      stop()
      previous?.()
    }
  } else if (path === '/upload') {
    const main = shell('upload')
    document.title = 'Upload · mediaplane'
    main.append(ensureUploader())
  } else {
    const main = shell('library')
    document.title = 'Library · mediaplane'
    const stop = renderLibrary(main, params)
    const previous = dispose as (() => void) | null
    dispose = () => {
      stop()
      previous?.()
    }
  }
}

window.addEventListener('hashchange', route)
route()
