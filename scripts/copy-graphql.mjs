// Copies every *.graphql file from src/ to dist/, keeping its relative path,
// because tsc only emits .js and the subgraphs load their SDL from disk.
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';

function copy(from, to) {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) copy(src, dst);
    else if (name.endsWith('.graphql')) {
      mkdirSync(dirname(dst), { recursive: true });
      cpSync(src, dst);
    }
  }
}
copy('src', 'dist');
