// A small cache of file details (GET /v1/files/{id}) for thumbnails in the
// library grid: keyed by file id and `updated_at`, fetched a few at a time so
// a page of cards never bursts past the API's per-owner rate limit.
import { catalog } from './api'
import type { FileDetail, Thumbnail } from './api'

const cache = new Map<string, { updatedAt: string; detail: Promise<FileDetail> }>()
const MAX_PARALLEL = 3
let running = 0
const waiting: (() => void)[] = []

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve))
  running += 1
  try {
    return await fn()
  } finally {
    running -= 1
    waiting.shift()?.()
  }
}

export function detail(fileId: string, updatedAt: string): Promise<FileDetail> {
  const hit = cache.get(fileId)
  if (hit && hit.updatedAt >= updatedAt) return hit.detail
  const promise = slot(() => catalog.file(fileId))
  cache.set(fileId, { updatedAt, detail: promise })
  promise.catch(() => cache.delete(fileId))
  return promise
}

export function invalidate(fileId: string): void {
  cache.delete(fileId)
}

/** The smallest thumbnail at least `width` wide, else the largest. */
export function pickThumbnail(thumbnails: Thumbnail[], width: number): Thumbnail | undefined {
  const sorted = [...thumbnails].sort((a, b) => a.width - b.width)
  return sorted.find((t) => t.width >= width) ?? sorted[sorted.length - 1]
}
