import { resolve } from 'node:path'
import { defineConfig } from 'vite'

// The edge (Caddy) serves the API, the S3 presigned paths and this UI on one
// origin. `npm run dev` proxies the API to it (MEDIAPLANE_EDGE, default
// http://127.0.0.1:8080) so the UI can be iterated on with hot reload.
const edge = process.env.MEDIAPLANE_EDGE ?? 'http://127.0.0.1:8080'

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // Swagger UI (the API reference page) is one bundle of about 1.5 MB.
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      input: {
        // The app, and the API reference (served at /v1/docs by the edge).
        main: resolve(import.meta.dirname, 'index.html'),
        docs: resolve(import.meta.dirname, 'docs/index.html'),
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/v1': { target: edge, changeOrigin: false },
    },
  },
})
