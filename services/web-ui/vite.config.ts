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
    chunkSizeWarningLimit: 1024,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/v1': { target: edge, changeOrigin: false },
    },
  },
})
