// Charts with Chart.js (a maintained library, tree-shaken: only what we draw is
// registered). Each chart owns its canvas; `destroy` frees it when a page goes.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js'

import { formatBytes, h } from './dom'

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip)

export interface DrawnChart {
  element: HTMLElement
  destroy(): void
}

function frame(id: string, label: string): { element: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = h('canvas', { id, role: 'img', 'aria-label': label })
  return { element: h('div', { class: 'chart' }, canvas), canvas }
}

/** Views (bars, left axis) and watch time in minutes (line, right axis) per day. */
export function viewsAndWatchTime(id: string, days: string[], views: number[], watchMinutes: number[]): DrawnChart {
  const { element, canvas } = frame(id, 'views and watch time per day')
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: days,
      datasets: [
        { type: 'bar', label: 'views', data: views, yAxisID: 'views', backgroundColor: '#4f7cff' },
        { type: 'line', label: 'watch time (min)', data: watchMinutes, yAxisID: 'minutes', borderColor: '#f08a24', backgroundColor: '#f08a24' },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        views: { type: 'linear', position: 'left', beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'views' } },
        minutes: { type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'minutes' } },
      },
    },
  })
  return { element, destroy: () => chart.destroy() }
}

/** Percentage of views still watching at each point of the video. */
export function retentionCurve(id: string, points: { fraction: number; percent: number }[], duration: number): DrawnChart {
  const { element, canvas } = frame(id, 'retention curve')
  const chart = new Chart(canvas, {
    type: 'line',
    data: {
      labels: points.map((p) => `${(p.fraction * duration).toFixed(duration < 60 ? 1 : 0)} s`),
      datasets: [{ label: '% still watching', data: points.map((p) => p.percent), fill: true, borderColor: '#2e9d5b', backgroundColor: 'rgba(46,157,91,0.15)', stepped: true }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { min: 0, max: 100, title: { display: true, text: '% of views' } } },
    },
  })
  return { element, destroy: () => chart.destroy() }
}

/** One bar per file: its rebuffer ratio (%), its error rate (%). */
export function qualityBars(id: string, labels: string[], rebufferPercent: number[], errorPercent: number[]): DrawnChart {
  const { element, canvas } = frame(id, 'worst quality of experience')
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'rebuffer ratio (%)', data: rebufferPercent, backgroundColor: '#d9534f' },
        { label: 'error rate (%)', data: errorPercent, backgroundColor: '#8e44ad' },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, indexAxis: 'y', scales: { x: { beginAtZero: true } } },
  })
  return { element, destroy: () => chart.destroy() }
}

const PALETTE = ['#4f7cff', '#f08a24', '#2e9d5b', '#8e44ad', '#d9534f', '#17a2b8', '#b8860b', '#6c757d']

/** Bytes added per day, one stacked series per bucket and kind, and the bytes the janitor
 * freed (a series of its own, not stacked). */
export function storagePerDay(id: string, days: string[], series: { label: string; bytes: number[] }[], freed: number[]): DrawnChart {
  const { element, canvas } = frame(id, 'storage added and freed per day, per bucket and kind')
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: days,
      datasets: [
        ...series.map((s, i) => ({ type: 'bar' as const, label: s.label, data: s.bytes, stack: 'added', backgroundColor: PALETTE[i % PALETTE.length] })),
        { type: 'bar' as const, label: 'freed (purged)', data: freed, stack: 'freed', backgroundColor: '#adb5bd' },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => formatBytes(Number(v)) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${formatBytes(Number(c.raw))}` } } },
    },
  })
  return { element, destroy: () => chart.destroy() }
}

/** Uploads per day (bars, left axis) and bytes of originals stored at each day's end (line,
 * right axis): one user's, or the platform's. */
export function usageOverTime(id: string, days: string[], uploads: number[], storedBytes: number[]): DrawnChart {
  const { element, canvas } = frame(id, 'uploads and stored bytes per day')
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: days,
      datasets: [
        { type: 'bar', label: 'uploads', data: uploads, yAxisID: 'uploads', backgroundColor: '#4f7cff' },
        { type: 'line', label: 'stored', data: storedBytes, yAxisID: 'bytes', borderColor: '#2e9d5b', backgroundColor: '#2e9d5b', stepped: true },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        uploads: { type: 'linear', position: 'left', beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'uploads' } },
        bytes: { type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: (v) => formatBytes(Number(v)) } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => (c.dataset.yAxisID === 'bytes' ? `stored: ${formatBytes(Number(c.raw))}` : `uploads: ${String(c.raw)}`) } } },
    },
  })
  return { element, destroy: () => chart.destroy() }
}
