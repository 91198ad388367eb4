// Typed calls to the two HTTP APIs behind the edge (same origin): the
// upload-gateway (writes) and the catalog (reads). Errors are RFC 9457
// problem+json and become `ApiError`s carrying the stable `code`.
import { accessToken, clearTokens } from './auth'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

type Listener = () => void
const unauthorizedListeners: Listener[] = []

/** Called when an API answers 401: the token is dropped and the app shows sign-in. */
export function onUnauthorized(listener: Listener): void {
  unauthorizedListeners.push(listener)
}

/** The bearer header, with a token refreshed first when it is about to expire. */
export async function authHeaders(): Promise<Record<string, string>> {
  const token = await accessToken()
  return token ? { Authorization: `Bearer ${token}` } : {}
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { signal?: AbortSignal; auth?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (options.auth !== false) Object.assign(headers, await authHeaders())
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: options.signal,
  })
  if (!response.ok) {
    let code = 'http_error'
    let message = `${method} ${path}: HTTP ${response.status}`
    try {
      const problem = (await response.json()) as { code?: string; detail?: string; title?: string }
      code = problem.code ?? code
      message = problem.detail ?? problem.title ?? message
    } catch {
      // not JSON: keep the generic message
    }
    if (response.status === 401 && options.auth !== false) {
      clearTokens()
      for (const listener of unauthorizedListeners) listener()
    }
    throw new ApiError(response.status, code, message)
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  return (text ? JSON.parse(text) : undefined) as T
}

// ---- shapes (see services/upload-gateway and services/catalog READMEs) ----

export interface Presigned {
  method: string
  url: string
  headers: Record<string, string>
  expires_at: string
}

export interface UploadSession {
  session_id: string
  file_id: string
  status: string
  mode: 'single' | 'multipart'
  filename: string
  content_type: string
  size: number
  sha256: string | null
  part_size: number
  part_count: number
  expires_at: string
  tags: string[]
  upload?: Presigned | null
}

export interface PartUrl extends Presigned {
  number: number
}

export interface StoredPart {
  number: number
  etag: string
  size: number | null
}

export interface FileSummary {
  file_id: string
  owner: string
  filename: string
  size: number
  content_type: string
  media_type: string | null
  kind: string | null
  status: string
  rejection_code: string | null
  transcode_status: string | null
  transcode_error: string | null
  /** Percent done while `transcode_status` is `running` (null before the first report). */
  transcode_progress: number | null
  thumbnail_status: string | null
  thumbnail_error: string | null
  tags: string[]
  created_at: string
  updated_at: string
  /** Set while a moderator has the file taken down: why (its owner sees it). */
  taken_down_reason?: string | null
}

export interface FilePage {
  items: FileSummary[]
  next_cursor: string | null
}

export interface Thumbnail {
  name: string
  width: number
  height: number
  format: string
  size: number
  url: string
}

export interface Rendition {
  name: string
  width: number
  height: number
  bandwidth: number
  average_bandwidth: number
  codecs: string
  frame_rate: number
  segment_count: number
  playlist_url: string
}

export interface ImageMetadata {
  width: number
  height: number
  orientation: number
  format: string
  camera_make: string | null
  camera_model: string | null
  lens: string | null
  taken_at: string | null
  /** Only when the owner uploaded with `keep_location`. */
  location: { latitude: number; longitude: number; altitude: number | null } | null
}

export interface VideoMetadata {
  container: string
  duration: number | null
  bitrate: number | null
  width: number
  height: number
  fps: number | null
  rotation: number
  video_codec: string
  video_profile: string | null
  pixel_format: string | null
  color_transfer: string | null
  color_primaries: string | null
  hdr: 'pq' | 'hlg' | null
  audio_codec: string | null
}

export interface AudioMetadata {
  container: string
  codec: string
  channels: number
  sample_rate: number
  duration: number | null
  bitrate: number | null
}

export interface FileMetadata {
  status: 'extracted' | 'failed'
  error: string | null
  kind: string | null
  image: ImageMetadata | null
  video: VideoMetadata | null
  audio: AudioMetadata | null
  pdf: { page_count: number; title: string | null } | null
}

export interface FileDetail {
  file: FileSummary
  sha256: string | null
  duration: number | null
  purged: boolean
  /** What the metadata extractor found; null until it has handled the file. */
  metadata: FileMetadata | null
  download: { url: string; expires_at: string } | null
  thumbnails: Thumbnail[]
  renditions: Rendition[]
  /** The master playlist with a playback token (`?pt=`) for this file, good until `hls_expires_at`. */
  hls_url: string | null
  hls_expires_at: string | null
  /** Videos: the progressive MP4 fallback (faststart, at most 720p), presigned; Range works. */
  mp4?: { url: string; expires_at: string; width: number; height: number; size: number } | null
  /** Audio: the waveform peaks document `{version, duration, peaks: number[]}`, presigned. */
  waveform_url?: string | null
  /** A long video still transcoding but already playable: `hls_url` serves growing EVENT playlists. */
  live?: { ready: number; chunks_done: number; chunks_planned: number; ended: boolean } | null
}

export interface HistoryEvent {
  event_id: string
  type: string
  known: boolean
  occurred_at: string
  stream_id: string
  data: Record<string, unknown>
}

export interface TagView {
  name: string
  files: number
}

export interface FileFilter {
  tag?: string
  kind?: string
  status?: string
  q?: string
  /** RFC 3339 with a zone: photos taken in this range (EXIF time). */
  taken_after?: string
  taken_before?: string
}

function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

// ---- auth ----

/** Dev mode only: the gateway mints a token for any user name. */
export async function devToken(sub: string): Promise<string> {
  const result = await request<Record<string, unknown>>('POST', '/v1/dev/token', { sub }, { auth: false })
  const token = result.token ?? result.access_token ?? result.jwt
  if (typeof token !== 'string') throw new ApiError(500, 'bad_response', 'no token in the answer')
  return token
}

/** Whether the server has dev sign-in on (`GET /v1/dev`, a 404 otherwise): asked, never built in. */
export async function devMode(): Promise<boolean> {
  try {
    const answer = await request<{ dev_tokens?: boolean }>('GET', '/v1/dev', undefined, { auth: false })
    return answer.dev_tokens === true
  } catch {
    return false
  }
}

// ---- identity (accounts: the session cookie, same origin; never the bearer token) ----

export interface Account {
  user_id: string
  email: string
  role: string
  plan: string
  email_verified: boolean
}

/** A user code waiting for a decision (`GET /v1/account/device/{user_code}`). */
export interface PendingDevice {
  user_code: string
  client_id: string
  scopes: string[]
  expires_at: string
}

export interface SignInOptions {
  registration: 'open' | 'invite' | 'closed'
  upstream: string | null
}

export interface SessionEntry {
  id: string
  created_at: string
  expires_at: string
  user_agent: string | null
  current: boolean
}

export interface PatView {
  id: string
  name: string
  scopes: string[]
  created_at: string
  expires_at: string
  revoked: boolean
  last_used_at: string | null
}

export interface LinkedIdentity {
  id: string
  issuer: string
  subject: string
  linked_at: string
}

export const PAT_SCOPES = ['files:read', 'files:write', 'uploads:write']

function account<T>(method: string, path: string, body?: unknown): Promise<T> {
  return request<T>(method, `/v1/account${path}`, body, { auth: false })
}

export const identity = {
  options: (): Promise<SignInOptions> => account('GET', '/sign-in-options'),
  register: (email: string, password: string): Promise<unknown> => account('POST', '/registrations', { email, password }),
  verifyEmail: (token: string): Promise<unknown> => account('POST', '/email-verifications', { token }),
  signIn: (email: string, password: string): Promise<unknown> => account('POST', '/sessions', { email, password }),
  requestReset: (email: string): Promise<unknown> => account('POST', '/password-resets', { email }),
  resetPassword: (token: string, password: string): Promise<unknown> =>
    account('POST', '/password-resets/confirm', { token, password }),
  me: (): Promise<Account> => account('GET', '/'),
  sessions: (): Promise<SessionEntry[]> => account('GET', '/sessions'),
  endSession: (id: string): Promise<unknown> => account('DELETE', `/sessions/${id}`),
  signOutEverywhere: (): Promise<unknown> => account('DELETE', '/sessions'),
  tokens: (): Promise<PatView[]> => account('GET', '/tokens'),
  createToken: (name: string, scopes: string[], expires_in_days: number): Promise<PatView & { token: string }> =>
    account('POST', '/tokens', { name, scopes, expires_in_days }),
  revokeToken: (id: string): Promise<unknown> => account('DELETE', `/tokens/${id}`),
  identities: (): Promise<LinkedIdentity[]> => account('GET', '/identities'),
  unlink: (id: string): Promise<unknown> => account('DELETE', `/identities/${id}`),
  pendingDevice: (userCode: string): Promise<PendingDevice> =>
    account('GET', `/device/${encodeURIComponent(userCode)}`),
  decideDevice: (user_code: string, approve: boolean): Promise<unknown> =>
    account('POST', '/device', { user_code, approve }),
}

/** Where the browser goes to sign in upstream (a path on this site); `returnTo` after it. */
export function federationStart(returnTo: string, link = false): string {
  const query = new URLSearchParams({ return_to: returnTo })
  if (link) query.set('link', 'true')
  return `/v1/account/federation/start?${query}`
}

// ---- upload-gateway ----

export const gateway = {
  open(body: {
    filename: string
    size: number
    content_type: string
    sha256?: string
    tags?: string[]
    /** `keep`: the photo's GPS location stays in its metadata; `strip` (default) drops it. */
    location?: 'keep' | 'strip'
  }): Promise<UploadSession> {
    return request('POST', '/v1/uploads', body)
  },
  session(id: string): Promise<UploadSession> {
    return request('GET', `/v1/uploads/${id}`)
  },
  async signParts(
    id: string,
    parts: { number: number; sha256?: string }[],
    signal?: AbortSignal,
  ): Promise<PartUrl[]> {
    return (await request<{ parts: PartUrl[] }>('POST', `/v1/uploads/${id}/parts`, { parts }, { signal })).parts
  },
  async storedParts(id: string, signal?: AbortSignal): Promise<StoredPart[]> {
    return (await request<{ parts: StoredPart[] }>('GET', `/v1/uploads/${id}/parts`, undefined, { signal })).parts
  },
  complete(id: string, parts: { number: number; etag: string }[] = []): Promise<unknown> {
    return request('POST', `/v1/uploads/${id}/complete`, parts.length ? { parts } : {})
  },
  abort(id: string): Promise<unknown> {
    return request('DELETE', `/v1/uploads/${id}`)
  },
  createTags(names: string[]): Promise<unknown> {
    return request('POST', '/v1/tags', { names })
  },
  setTags(fileId: string, tags: string[]): Promise<{ file_id: string; tags: string[] }> {
    return request('PUT', `/v1/files/${fileId}/tags`, { tags })
  },
  deleteFile(fileId: string): Promise<unknown> {
    return request('DELETE', `/v1/files/${fileId}`)
  },
  report(fileId: string, reason: string): Promise<{ report_id: string; file_id: string }> {
    return request('POST', `/v1/files/${fileId}/reports`, { reason })
  },
}

// ---- moderation and the admin console (role-checked by the APIs) ----

export interface ModerationState {
  file_id: string
  taken_down: boolean
  reason: string | null
  open_reports: number
}

export interface Report {
  report_id: string
  file_id: string
  owner: string
  reporter: string
  reason: string
  reported_at: string
  status: 'open' | 'dismissed' | 'actioned'
  resolved_by: string | null
  resolved_at: string | null
  filename: string | null
  kind: string | null
  file_status: string | null
  taken_down: boolean
  owner_takedowns: number
  owner_reports: number
}

export interface Offender {
  owner: string
  takedowns: number
  reports: number
  account_status: string | null
}

export interface Usage {
  owner: string
  files: number
  original_bytes: number
  bytes_by_kind: Record<string, number>
  derived_bytes: number
  plan: string | null
  account_status: string | null
  /** What the gateway enforces: an admin's override field by field, else the plan's. */
  quota: { files: number; bytes: number; override_files: number | null; override_bytes: number | null }
}

export interface UsageDay {
  day: string
  uploads: number
  uploaded_bytes: number
  deletions: number
  freed_bytes: number
  stored_bytes: number
}

export interface AdminFileFilter {
  owner?: string
  kind?: string
  status?: string
  min_size?: number
  max_size?: number
  since?: string
  until?: string
  failed?: string
  taken_down?: string
}

export const moderation = {
  reports(status: string, cursor?: string | null): Promise<{ items: Report[]; next_cursor: string | null }> {
    return request('GET', `/v1/moderation/reports${query({ status, cursor, limit: 50 })}`)
  },
  offenders(): Promise<Offender[]> {
    return request('GET', '/v1/moderation/offenders')
  },
  takeDown(fileId: string, reason: string): Promise<ModerationState> {
    return request('POST', `/v1/moderation/files/${fileId}/takedown`, { reason })
  },
  restore(fileId: string, reason: string): Promise<ModerationState> {
    return request('POST', `/v1/moderation/files/${fileId}/restore`, { reason })
  },
  dismiss(fileId: string, reportId: string, note = ''): Promise<ModerationState> {
    return request('POST', `/v1/moderation/files/${fileId}/reports/${reportId}/dismiss`, { note })
  },
}

export interface Processing {
  statuses: Record<string, Record<string, number>>
  failed: { file_id: string; owner: string; filename: string; kind: string | null; service: string; error: string | null; rerun: boolean; updated_at: string }[]
}

export interface AuditEntry {
  event_id: string
  type: string
  occurred_at: string
  stream_id: string
  file_id: string | null
  producer: string | null
  actor: string | null
  subject: string | null
}

export interface StorageRow {
  day: string
  bucket: string
  kind: string
  added_bytes: number
  freed_bytes: number
}

// What an admin may have made again (services/upload-gateway README, "Admin"), and which
// kinds of file have such artifacts: the gateway refuses the others (422).
export type ReprocessTarget = 'transcode' | 'thumbnails' | 'variants'
export const REPROCESS_KINDS: Record<ReprocessTarget, readonly string[]> = {
  transcode: ['video', 'audio'],
  thumbnails: ['image', 'video', 'pdf'],
  variants: ['image', 'video'],
}

export const admin = {
  reprocess(fileId: string, target: ReprocessTarget): Promise<void> {
    return request('POST', `/v1/admin/files/${fileId}/reprocess`, { target })
  },
  processing(): Promise<Processing> {
    return request('GET', '/v1/admin/processing')
  },
  audit(filter: { type?: string; actor?: string; subject?: string }, cursor?: string | null): Promise<{ items: AuditEntry[]; next_cursor: string | null }> {
    return request('GET', `/v1/admin/audit${query({ ...filter, cursor, limit: 50 })}`)
  },
  storage(days = 30): Promise<{ totals: StorageRow[]; days: StorageRow[] }> {
    return request('GET', `/v1/admin/storage${query({ days })}`)
  },
  files(filter: AdminFileFilter, cursor?: string | null): Promise<FilePage> {
    return request('GET', `/v1/admin/files${query({ ...filter, cursor, limit: 50 })}`)
  },
  usage(owner?: string): Promise<{ items: Usage[]; next_marker: string | null }> {
    return request('GET', `/v1/admin/usage${query({ owner, limit: 200 })}`)
  },
  usageHistory(owner?: string, days = 30): Promise<{ owner: string | null; days: UsageDay[] }> {
    return request('GET', `/v1/admin/usage/history${query({ owner, days })}`)
  },
  /** A user's own quota (identity); a null field follows the plan's, both null clear it. */
  setQuota(userId: string, files: number | null, bytes: number | null): Promise<void> {
    const path = `/v1/admin/users/${encodeURIComponent(userId)}/quota`
    return files === null && bytes === null ? request('DELETE', path) : request('PUT', path, { files, bytes })
  },
}

// ---- dead letters (the gateway's admin API, docs/runbooks/dlq.md) ----

export interface DeadLetter {
  sequence: number
  consumer: string
  subject: string
  reason: string
  deliveries: number
  parked_at: string | null
  event_type: string | null
  event_id: string | null
}

export interface DeadLetterDetail extends DeadLetter {
  original_sequence: number
  headers: Record<string, string>
  size: number
  payload: unknown
  payload_text: string | null
}

export interface DeadLetterFilter {
  consumer?: string
  subject?: string
  reason?: string
}

export const deadLetters = {
  list(filter: DeadLetterFilter, after = 0): Promise<{ items: DeadLetter[]; next_after: number | null }> {
    return request('GET', `/v1/admin/dead-letters${query({ ...filter, after, limit: 50 })}`)
  },
  show(sequence: number): Promise<DeadLetterDetail> {
    return request('GET', `/v1/admin/dead-letters/${sequence}`)
  },
  redrive(sequence: number): Promise<{ sequence: number; msg_id: string; stream_sequence: number }> {
    return request('POST', `/v1/admin/dead-letters/${sequence}/redrive`)
  },
  redriveMatching(filter: DeadLetterFilter): Promise<{ redriven: { sequence: number }[]; next_after: number | null }> {
    return request('POST', '/v1/admin/dead-letters/redrive', { ...filter, limit: 500 })
  },
  discard(sequence: number, note: string): Promise<void> {
    return request('POST', `/v1/admin/dead-letters/${sequence}/discard`, { note })
  },
}

// ---- catalog ----

export const catalog = {
  files(filter: FileFilter, limit: number, cursor?: string | null): Promise<FilePage> {
    return request('GET', `/v1/files${query({ ...filter, limit, cursor })}`)
  },
  file(id: string, signal?: AbortSignal): Promise<FileDetail> {
    return request('GET', `/v1/files/${id}`, undefined, { signal })
  },
  async history(id: string): Promise<HistoryEvent[]> {
    return (await request<{ events: HistoryEvent[] }>('GET', `/v1/files/${id}/history`)).events
  },
  tags(limit = 200): Promise<{ items: TagView[]; next_marker: string | null }> {
    return request('GET', `/v1/tags${query({ limit })}`)
  },
}

// ---- analytics (services/analytics README) ----

export interface Measures {
  views: number
  viewers: number
  watch_seconds: number
  average_view_seconds: number
  average_startup_ms: number | null
  rebuffer_ratio: number
  error_rate: number
  rendition_seconds: Record<string, number>
}

export interface AnalyticsDay {
  day: string
  measures: Measures
}

export interface FileAnalytics {
  file_id: string
  owner: string
  duration: number | null
  since: string
  totals: Measures
  days: AnalyticsDay[]
  retention: { fraction: number; percent: number }[]
}

export interface PlatformAnalytics {
  since: string
  totals: Measures
  days: AnalyticsDay[]
}

export interface WorstFiles {
  since: string
  files: { file_id: string; owner: string; measures: Measures }[]
}

export const analytics = {
  file(id: string, days = 30): Promise<FileAnalytics> {
    return request('GET', `/v1/analytics/files/${id}${query({ days })}`)
  },
  platform(days = 30): Promise<PlatformAnalytics> {
    return request('GET', `/v1/analytics/platform${query({ days })}`)
  },
  worstFiles(days = 7, limit = 10): Promise<WorstFiles> {
    return request('GET', `/v1/analytics/worst-files${query({ days, limit })}`)
  },
}
