// Builds the UI into node/KeplerSim.Node/Http/ui (committed; embedded in kepler-node). `npm run build`.
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

const out = new URL('../KeplerSim.Node/Http/ui/', import.meta.url);
await mkdir(out, { recursive: true });
const options = {
  entryPoints: ['src/main.js', 'src/style.css'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: out.pathname,
  entryNames: 'app',
  legalComments: 'eof',
  logLevel: 'info',
};
await copyFile(new URL('src/index.html', import.meta.url), new URL('index.html', out));
if (process.argv.includes('--watch')) {
  await (await esbuild.context(options)).watch();
} else {
  await esbuild.build(options);
}
