// Takes the data-dir lock of argv[2], says whether it won, and holds on until stdin closes.
import { lockDir } from '../../src/hub/dir-lock.ts';

try {
  lockDir(process.argv[2]!);
  process.stdout.write('won\n');
} catch (err) {
  process.stdout.write(`${(err as { code?: string }).code ?? String(err)}\n`);
}
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
