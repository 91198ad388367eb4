// The bearer token lives in sessionStorage: it survives reloads of the tab but
// not the tab itself, and is never written to localStorage or a cookie.
const KEY = 'mediaplane.token'

export function getToken(): string | null {
  return sessionStorage.getItem(KEY)
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token)
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY)
}

/** The JWT's claims, decoded without verification (display only). */
export function claims(token: string | null = getToken()): Record<string, unknown> | null {
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

/** True when the token is missing or its `exp` has passed. */
export function expired(token: string | null = getToken()): boolean {
  const c = claims(token)
  if (!c) return true
  const exp = c.exp
  return typeof exp === 'number' && exp * 1000 <= Date.now()
}

export function userName(): string {
  const sub = claims()?.sub
  return typeof sub === 'string' ? sub : '?'
}
