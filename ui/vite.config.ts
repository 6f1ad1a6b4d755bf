import { defineConfig } from 'vitest/config';

// `npm run dev` proxies the API to a hub on 127.0.0.1:8080 (`hearthd --demo`).
export default defineConfig({
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
  build: { target: 'es2021', chunkSizeWarningLimit: 200 },
  test: { environment: 'jsdom', include: ['tests/**/*.test.ts'] },
});
