// hls.js ships one declaration file for both builds; the light build (no
// subtitles, alternate audio or DRM) has the same API for what we use.
declare module 'hls.js/light' {
  export * from 'hls.js'
  export { default } from 'hls.js'
}
