// Copies Swagger UI's assets from the swagger-ui-dist package next to the dashboard build, so
// /docs needs no CDN.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, '..', 'node_modules', 'swagger-ui-dist');
const dst = join(here, '..', '..', 'server', 'src', 'beamtrack', 'server', 'static', 'dashboard', 'docs');
mkdirSync(dst, { recursive: true });
for (const f of ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'LICENSE']) {
  copyFileSync(join(src, f), join(dst, f));
}
console.log(`docs assets copied to ${dst}`);
