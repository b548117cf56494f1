import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/app/',
  // `npm run dev`: the pages from source, the API from a server started as the README says.
  server: {
    proxy: { '/graphql': { target: 'http://127.0.0.1:8000', ws: true } },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // GraphiQL alone is about 1 MB of JavaScript; it loads once, from this server.
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      // React libraries mark modules "use client", which means nothing outside a server renderer.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        playground: resolve(import.meta.dirname, 'playground.html'),
      },
    },
  },
});
