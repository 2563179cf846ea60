// The web (user centre, lab, ops console) is built into web/dist and served by the platform
// process (src/web/serve.ts). The manifest lets a test weigh the initial JavaScript.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, manifest: true, sourcemap: false },
  logLevel: 'warn',
});
