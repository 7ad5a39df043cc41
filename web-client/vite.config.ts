// Vite config: builds the SPA into dist/ (served by `plaza serve`), proxies the API in dev.
import { defineConfig } from 'vitest/config';

const server = process.env.PLAZA_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // assetsDir 'static': the server maps /assets/ to the repo's assets (tiles, avatars).
  build: { outDir: 'dist', assetsDir: 'static', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    fs: { allow: ['..'] },
    proxy: {
      '/api': server,
      '/assets': server,
      '/ws': { target: server.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: { include: ['test/**/*.test.ts'], environment: 'node' },
});
