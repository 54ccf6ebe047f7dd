// Writes lib/wire.generated.ts from the tables in crates/node/src/wire.rs (`npm run
// generate:wire`). The test that otherwise fails while the file is stale writes it instead when
// MOUNTKIT_WRITE_WIRE=1, so the file comes from exactly the text that test compares.
import { spawnSync } from 'node:child_process'

const test = 'wire::tests::the_checked_in_typescript_is_what_the_tables_generate'
const result = spawnSync('cargo', ['test', '--quiet', '-p', 'mountkit-node', '--lib', '--', '--exact', test], {
  stdio: 'inherit',
  env: { ...process.env, MOUNTKIT_WRITE_WIRE: '1' },
  shell: process.platform === 'win32',
})
if (result.error) {
  console.error(`generate:wire: cannot run cargo (${result.error.message}); install Rust (https://rustup.rs) and try again`)
  process.exit(1)
}
process.exit(result.status ?? 1)
