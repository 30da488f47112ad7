// Builds the dashboard into the server package's static folder (served at / by the API server).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: '../server/src/beamtrack/server/static/dashboard',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
});
