// Uploads with Uppy: the Dashboard (progress bars, pause/resume, retry) and
// @uppy/aws-s3 wired to OUR upload-gateway instead of talking to S3's
// multipart API directly.
//
// The gateway decides single PUT vs multipart (and the part size) when the
// session is opened, so sessions are opened in a pre-processor, before
// @uppy/aws-s3 splits the file: `shouldUseMultipart` and `getChunkSize` then
// just read the session. Mapping:
//   pre-processor            -> POST /v1/uploads  {filename, size, content_type, sha256?, tags, location}
//   getUploadParameters      -> the session's presigned PUT (single mode)
//   createMultipartUpload    -> the session (re-opened after an abort)
//   signPart                 -> POST /v1/uploads/{id}/parts  {parts: [{number, sha256}]}
//   listParts                -> GET  /v1/uploads/{id}/parts  (resume)
//   completeMultipartUpload  -> POST /v1/uploads/{id}/complete {parts: [{number, etag}]}
//   abortMultipartUpload     -> DELETE /v1/uploads/{id}
//   single PUT finished      -> POST /v1/uploads/{id}/complete {}
// Every part's SHA-256 is computed with WebCrypto and signed into its URL, so
// S3 refuses a part that was corrupted on the way; files up to
// WHOLE_HASH_MAX also get a whole-file SHA-256 the gateway's verifier checks.
// Presigned URLs are used with exactly the headers the gateway returned:
// no x-amz-checksum-* header is added (the checksum is in the signed query).
import AwsS3 from '@uppy/aws-s3'
import type { AwsS3Part, AwsS3UploadParameters } from '@uppy/aws-s3'
import Uppy from '@uppy/core'
import type { Body, Meta, UppyFile } from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'

import { ApiError, gateway } from './api'
import type { UploadSession } from './api'

type UploadMeta = Meta & { tags?: string }
type MpFile = UppyFile<UploadMeta, Body>

/** Whole-file SHA-256 is computed in memory for files up to this size. */
export const WHOLE_HASH_MAX = 64 * 1024 * 1024
const DEFAULT_PART_SIZE = 16 * 1024 * 1024

export async function sha256Hex(blob: Blob): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

export function parseTags(text: string | undefined): string[] {
  if (!text) return []
  const seen = new Set<string>()
  for (const raw of text.split(/[,\n]/)) {
    const tag = raw.trim()
    if (tag) seen.add(tag)
  }
  return [...seen]
}

function contentType(file: MpFile): string {
  return file.type && file.type.includes('/') ? file.type : 'application/octet-stream'
}

function blobOf(file: MpFile): Blob {
  const data = file.data
  if (!(data instanceof Blob)) throw new Error('only local files can be uploaded')
  return data
}

/** A single-mode upload: its PUT and its completion, each sent once however often Uppy resumes it. */
interface SingleUpload {
  session: UploadSession
  signature: AwsS3UploadParameters
  put?: Promise<{ ETag: string; location?: string }>
  completion?: Promise<unknown>
}

export interface UploaderOptions {
  /** Tags added to every new upload (besides each file's own `tags` meta). */
  defaultTags: () => string[]
  /** The owner's opt-in to keep GPS locations of the photos uploaded next (default: stripped). */
  keepLocation?: () => boolean
  onUploaded?: (fileId: string) => void
}

export function createUploader(target: HTMLElement, options: UploaderOptions): Uppy<UploadMeta, Body> {
  /** Open sessions by Uppy file id. */
  const sessions = new Map<string, UploadSession>()
  /** Part size by file data (getChunkSize only sees the Blob). */
  const partSizes = new WeakMap<Blob, number>()
  /** Single-mode uploads by Uppy file id, from their presigned PUT to the gateway's completion. */
  const singles = new Map<string, SingleUpload>()
  const wholeHashes = new Map<string, string>()

  const uppy = new Uppy<UploadMeta, Body>({
    id: 'mediaplane',
    autoProceed: false,
    restrictions: {
      allowedFileTypes: ['image/*', 'video/*', 'audio/*', 'application/pdf'],
    },
  })

  async function openSession(file: MpFile): Promise<UploadSession> {
    const data = blobOf(file)
    let sha256 = wholeHashes.get(file.id)
    if (sha256 === undefined && data.size <= WHOLE_HASH_MAX) {
      sha256 = await sha256Hex(data)
      wholeHashes.set(file.id, sha256)
    }
    const tags = [...new Set([...options.defaultTags(), ...parseTags(file.meta.tags)])]
    const session = await gateway.open({
      filename: file.name ?? 'upload',
      size: data.size,
      content_type: contentType(file),
      ...(sha256 ? { sha256 } : {}),
      ...(tags.length ? { tags } : {}),
      location: options.keepLocation?.() ? 'keep' : 'strip',
    })
    sessions.set(file.id, session)
    partSizes.set(data, session.part_size || DEFAULT_PART_SIZE)
    uppy.setFileMeta(file.id, { sessionId: session.session_id, fileId: session.file_id })
    return session
  }

  async function ensureSession(file: MpFile): Promise<UploadSession> {
    const session = sessions.get(file.id)
    if (session && Date.parse(session.expires_at) > Date.now() + 60_000) return session
    if (session) {
      sessions.delete(file.id)
      void gateway.abort(session.session_id).catch(() => undefined)
    }
    return openSession(file)
  }

  function forget(fileId: string, abort: boolean): void {
    const session = sessions.get(fileId)
    sessions.delete(fileId)
    if (session && abort) void gateway.abort(session.session_id).catch(() => undefined)
  }

  // Open (or reuse) each file's session before @uppy/aws-s3 looks at it.
  uppy.addPreProcessor(async (fileIDs) => {
    for (const id of fileIDs) {
      const file = uppy.getFile(id)
      if (!file || file.error || file.progress.uploadComplete) continue
      uppy.emit('preprocess-progress', file, { mode: 'indeterminate', message: 'Hashing and opening the upload…' })
      try {
        await ensureSession(file)
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error))
        uppy.emit('upload-error', file, err)
      } finally {
        const latest = uppy.getFile(id)
        if (latest) uppy.emit('preprocess-complete', latest)
      }
    }
  })

  uppy.use(AwsS3<UploadMeta, Body>, {
    id: 'GatewayS3',
    limit: 4,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    allowedMetaFields: [],
    shouldUseMultipart: (file: MpFile) => sessions.get(file.id)?.mode === 'multipart',
    getChunkSize: (data: { size: number }) =>
      (data instanceof Blob ? partSizes.get(data) : undefined) ?? DEFAULT_PART_SIZE,

    async getUploadParameters(file: MpFile): Promise<AwsS3UploadParameters> {
      // Resumed after its bytes were stored: only the completion is left (see uploadPartBytes).
      const started = singles.get(file.id)
      if (started?.put) return started.signature
      let session = await ensureSession(file)
      if (session.mode !== 'single' || !session.upload) {
        throw new Error(`the gateway chose ${session.mode} mode for ${file.name}`)
      }
      if (Date.parse(session.upload.expires_at) < Date.now() + 60_000) {
        forget(file.id, true)
        session = await openSession(file)
      }
      const upload = session.upload!
      const signature: AwsS3UploadParameters = { method: 'PUT', url: upload.url, headers: { ...upload.headers } }
      singles.set(file.id, { session, signature })
      return signature
    },

    async createMultipartUpload(file: MpFile) {
      const session = await ensureSession(file)
      if (session.mode !== 'multipart') throw new Error(`the gateway chose ${session.mode} mode`)
      return { uploadId: session.session_id, key: session.file_id }
    },

    async signPart(_file: MpFile, { uploadId, partNumber, body, signal }): Promise<AwsS3UploadParameters> {
      const sha256 = await sha256Hex(body)
      const [part] = await gateway.signParts(uploadId, [{ number: partNumber, sha256 }], signal)
      if (!part) throw new Error(`no URL for part ${partNumber}`)
      return { method: 'PUT', url: part.url, headers: { ...part.headers } }
    },

    async listParts(_file: MpFile, { uploadId, signal }): Promise<AwsS3Part[]> {
      if (!uploadId) return []
      const parts = await gateway.storedParts(uploadId, signal)
      return parts.map((p) => ({ PartNumber: p.number, ETag: p.etag, Size: p.size ?? undefined }))
    },

    async completeMultipartUpload(file: MpFile, { uploadId, parts }) {
      const sorted = parts
        .filter((p): p is Required<Pick<AwsS3Part, 'PartNumber' | 'ETag'>> & AwsS3Part =>
          p.PartNumber !== undefined && p.ETag !== undefined,
        )
        .sort((a, b) => a.PartNumber - b.PartNumber)
        .map((p) => ({ number: p.PartNumber, etag: p.ETag }))
      await gateway.complete(uploadId, sorted)
      const session = sessions.get(file.id)
      sessions.delete(file.id)
      return { location: session ? `#/files/${session.file_id}` : undefined }
    },

    async abortMultipartUpload(file: MpFile, { uploadId }) {
      sessions.delete(file.id)
      if (!uploadId) return
      try {
        await gateway.abort(uploadId)
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error
      }
    },

    // The stock XHR PUT, then the gateway's completion for single-mode sessions.
    // Uppy forgets a chunk once it reports it complete, and a pause before the
    // upload's end would then resume it as multipart, which a single-mode session
    // cannot do. So the chunk is reported only after the completion, and a resume
    // reuses the PUT that already stored the bytes instead of sending them again.
    async uploadPartBytes(args) {
      const entry = [...singles].find(([, s]) => s.signature.url === args.signature.url)
      if (!entry) return AwsS3.uploadPartBytes(args)
      const [fileId, single] = entry
      single.put ??= AwsS3.uploadPartBytes({ ...args, onComplete: () => undefined }).catch((error: unknown) => {
        single.put = undefined
        throw error
      })
      const result = await single.put
      single.completion ??= gateway.complete(single.session.session_id).catch((error: unknown) => {
        single.completion = undefined
        throw error
      })
      await single.completion
      // Paused meanwhile: Uppy has let go of this call, and the resumed one reports the upload.
      if (args.signal?.aborted) throw args.signal.reason
      singles.delete(fileId)
      sessions.delete(fileId)
      args.onComplete?.(result.ETag)
      return { ...result, location: `#/files/${single.session.file_id}` }
    },
  })

  uppy.use(Dashboard<UploadMeta, Body>, {
    inline: true,
    target,
    width: '100%',
    height: 420,
    proudlyDisplayPoweredByUppy: false,
    hideProgressAfterFinish: false,
    fileManagerSelectionType: 'files',
    note: 'Images, video, audio and PDF. Large files upload in resumable parts; every part is SHA-256 checked.',
    metaFields: [{ id: 'tags', name: 'Tags', placeholder: 'comma separated, e.g. holiday, 2026' }],
    theme: 'light',
  })

  uppy.on('file-removed', (file) => {
    wholeHashes.delete(file.id)
    singles.delete(file.id)
    forget(file.id, !file.progress.uploadComplete)
  })
  uppy.on('cancel-all', () => {
    for (const id of [...sessions.keys()]) forget(id, true)
  })
  uppy.on('upload-success', (file) => {
    const fileId = file?.meta.fileId
    if (typeof fileId === 'string') options.onUploaded?.(fileId)
  })

  return uppy
}
