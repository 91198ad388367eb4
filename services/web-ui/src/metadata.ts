// The file page's "Metadata" list: one row per fact the extractor found, in
// words (a definitions list; absent facts are left out rather than shown empty).
import type { FileMetadata } from './api'
import { formatDate, formatDuration } from './dom'

const HDR = { pq: 'HDR10 / PQ (SMPTE ST 2084)', hlg: 'HLG (ARIB STD-B67)' }

function bitrate(bps: number | null): string | null {
  if (bps === null) return null
  return bps >= 1_000_000 ? `${(bps / 1_000_000).toFixed(1)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`
}

export function metadataRows(m: FileMetadata): [string, string][] {
  if (m.status === 'failed') return [['Metadata', `not readable (${m.error ?? 'unknown'})`]]
  const rows: [string, string | null | undefined][] = []
  if (m.image) {
    const i = m.image
    const camera = [i.camera_make, i.camera_model].filter(Boolean).join(' ')
    rows.push(
      ['Dimensions', `${i.width} × ${i.height} px`],
      ['Format', i.format.toUpperCase()],
      ['Camera', camera || null],
      ['Lens', i.lens],
      ['Taken', i.taken_at ? formatDate(i.taken_at) : null],
      ['Location', i.location ? `${i.location.latitude.toFixed(5)}, ${i.location.longitude.toFixed(5)}` : null],
    )
  }
  if (m.video) {
    const v = m.video
    rows.push(
      ['Dimensions', `${v.width} × ${v.height} px${v.rotation ? `, rotated ${v.rotation}°` : ''}`],
      ['Video', [v.video_codec, v.video_profile].filter(Boolean).join(' ')],
      ['Frame rate', v.fps !== null ? `${v.fps} fps` : null],
      ['HDR', v.hdr ? HDR[v.hdr] : null],
      ['Colour', [v.color_primaries, v.color_transfer, v.pixel_format].filter(Boolean).join(' · ') || null],
      ['Audio', v.audio_codec],
      ['Length', v.duration !== null ? formatDuration(v.duration) : null],
      ['Bitrate', bitrate(v.bitrate)],
      ['Container', v.container],
    )
  }
  if (m.audio) {
    const a = m.audio
    rows.push(
      ['Audio', a.codec],
      ['Channels', a.channels === 1 ? 'mono' : a.channels === 2 ? 'stereo' : String(a.channels)],
      ['Sample rate', `${(a.sample_rate / 1000).toFixed(1)} kHz`],
      ['Length', a.duration !== null ? formatDuration(a.duration) : null],
      ['Bitrate', bitrate(a.bitrate)],
      ['Container', a.container],
    )
  }
  if (m.pdf) rows.push(['Title', m.pdf.title], ['Pages', String(m.pdf.page_count)])
  return rows.filter((row): row is [string, string] => typeof row[1] === 'string' && row[1] !== '')
}
