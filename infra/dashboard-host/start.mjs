// Launcher on the dashboard host: `node start.mjs serve` (see entry.ts for why it is separate).
import { main } from './dashboard.mjs';

process.exitCode = await main(process.argv.slice(2));
