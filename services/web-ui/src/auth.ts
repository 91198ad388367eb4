// Signing in: the authorization-code flow with PKCE (S256) against the identity
// service (public client `web-ui`), refresh with rotation, RP-initiated logout.
//
// The access token lives in memory only (a module variable): never in storage,
// a cookie or a URL. Identity's refresh token is kept in sessionStorage so a
// reload of the tab signs back in (it rotates on every use, and a stolen one
// presented twice revokes its whole family); it dies with the tab. A dev token
// (POST /v1/dev/token, dev mode only) has no refresh token: a reload signs out.
export const CLIENT_ID = 'web-ui'
const SCOPE = 'openid email offline_access files:read files:write uploads:write'
const REFRESH_KEY = 'mediaplane.refresh'
const ID_TOKEN_KEY = 'mediaplane.id_token'
const PENDING_KEY = 'mediaplane.pkce'
// Refresh this long before `exp`, so no request leaves with a token about to expire.
const EARLY_MS = 30_000

let access: string | null = null
let refreshing: Promise<string | null> | null = null

export class AuthError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'AuthError'
  }
}

export function redirectUri(): string {
  return `${location.origin}/callback`
}

/** The JWT's claims, decoded without verification (display only). */
export function claims(token: string | null = access): Record<string, unknown> | null {
  if (!token) return null
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
    const value: unknown = JSON.parse(json)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

function expiresAt(token: string | null): number {
  const exp = claims(token)?.exp
  return typeof exp === 'number' ? exp * 1000 : 0
}

/** True when the token is missing, not a JWT, or its `exp` has passed. */
export function expired(token: string | null = access): boolean {
  return expiresAt(token) <= Date.now()
}

/** A dev token (dev mode) or a pasted one: memory only. */
export function useToken(token: string): void {
  access = token
}

/** Whether a session can go on: a live access token, or a refresh token to get one. */
export function signedIn(): boolean {
  return (access !== null && !expired()) || sessionStorage.getItem(REFRESH_KEY) !== null
}

export function clearTokens(): void {
  access = null
  sessionStorage.removeItem(REFRESH_KEY)
  sessionStorage.removeItem(ID_TOKEN_KEY)
}

/** Whether the token claims the admin role (display only: the APIs decide). */
export function isAdmin(): boolean {
  const c = claims()
  const roles = Array.isArray(c?.roles) ? (c.roles as unknown[]) : []
  return roles.includes('admin') || c?.role === 'admin'
}

export function userName(): string {
  const c = claims()
  const email = c?.email
  if (typeof email === 'string') return email
  const sub = c?.sub
  return typeof sub === 'string' ? sub : '?'
}

/** An access token good for at least EARLY_MS more, refreshed if need be; null when signed out. */
export async function accessToken(): Promise<string | null> {
  if (access && expiresAt(access) - EARLY_MS > Date.now()) return access
  if (!sessionStorage.getItem(REFRESH_KEY)) return access && !expired(access) ? access : null
  refreshing ??= refresh().finally(() => {
    refreshing = null
  })
  return refreshing
}

async function tokenRequest(form: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch('/oauth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(form),
    cache: 'no-store',
  })
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>
  if (!response.ok) {
    const code = typeof body.error === 'string' ? body.error : `http_${response.status}`
    const detail = typeof body.error_description === 'string' ? body.error_description : code
    throw new AuthError(code, detail)
  }
  return body
}

function keep(tokens: Record<string, unknown>): string {
  const token = tokens.access_token
  if (typeof token !== 'string') throw new AuthError('bad_response', 'no access token in the answer')
  access = token
  if (typeof tokens.refresh_token === 'string') sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token)
  if (typeof tokens.id_token === 'string') sessionStorage.setItem(ID_TOKEN_KEY, tokens.id_token)
  return token
}

async function refresh(): Promise<string | null> {
  const token = sessionStorage.getItem(REFRESH_KEY)
  if (!token) return null
  try {
    return keep(await tokenRequest({ grant_type: 'refresh_token', refresh_token: token, client_id: CLIENT_ID }))
  } catch (error) {
    // invalid_grant: revoked, expired or reused (the family is gone): sign in again.
    if (error instanceof AuthError) {
      clearTokens()
      return null
    }
    throw error
  }
}

function base64url(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)))
}

interface Pending {
  verifier: string
  state: string
  nonce: string
  hash: string // where to go after signing in
}

/** The `/oauth/authorize` path for a new sign-in; its verifier and state wait in sessionStorage. */
export async function authorizePath(returnHash = '#/library'): Promise<string> {
  const pending: Pending = { verifier: randomString(), state: randomString(), nonce: randomString(), hash: returnHash }
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending))
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(pending.verifier))),
  )
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: SCOPE,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  return `/oauth/authorize?${query}`
}

/** Back on `/callback?code=&state=`: exchange the code (with the verifier) for tokens.
 *  Returns the hash route to show. The code leaves the address bar at once. */
export async function finishSignIn(): Promise<string> {
  const params = new URLSearchParams(location.search)
  history.replaceState(null, '', '/')
  const stored = sessionStorage.getItem(PENDING_KEY)
  sessionStorage.removeItem(PENDING_KEY)
  const pending = stored ? (JSON.parse(stored) as Pending) : null
  const error = params.get('error')
  if (error) throw new AuthError(error, params.get('error_description') ?? error)
  const code = params.get('code')
  if (!pending || !code || params.get('state') !== pending.state) {
    throw new AuthError('state_mismatch', 'this sign-in was not started here, or was already used: sign in again')
  }
  keep(
    await tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: CLIENT_ID,
      code_verifier: pending.verifier,
    }),
  )
  const nonce = claims(sessionStorage.getItem(ID_TOKEN_KEY))?.nonce
  if (sessionStorage.getItem(ID_TOKEN_KEY) && nonce !== pending.nonce) {
    clearTokens()
    throw new AuthError('nonce_mismatch', 'the ID token does not belong to this sign-in')
  }
  return pending.hash
}

/** Revoke the refresh token (its family), then end identity's browser session
 *  (RP-initiated logout; a POST, which the provider takes as the client's confirmation). */
export async function endSession(): Promise<void> {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY)
  const idToken = sessionStorage.getItem(ID_TOKEN_KEY)
  clearTokens()
  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
    redirect: 'manual' as RequestRedirect,
  })
  try {
    if (refreshToken) {
      await fetch('/oauth/revoke', form({ token: refreshToken, token_type_hint: 'refresh_token', client_id: CLIENT_ID }))
    }
    const logout: Record<string, string> = { client_id: CLIENT_ID, post_logout_redirect_uri: `${location.origin}/` }
    if (idToken) logout.id_token_hint = idToken
    const ended = await fetch('/oauth/logout', form(logout))
    // An ID token the provider no longer takes (e.g. its key retired): a plain POST still signs out.
    if (ended.status === 400) await fetch('/oauth/logout', form({ client_id: CLIENT_ID }))
  } catch {
    // Offline: the tokens are gone from this tab; the session cookie ends with its lifetime.
  }
}
