import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The on-call console: `vite build console` writes dist/console, which the api role serves at /.
 * JSX is compiled for Preact by Vite's own transformer; no framework plugin is needed.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    // The page's Content-Security-Policy allows scripts from 'self' only: no inlined module preload helper.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  // `vite console` for development: the API (repwatch run --roles api) answers on 8080.
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
