import { simulateDay } from './p9-simulated-day';
const f = await simulateDay({ tenants: Number(process.argv[2] ?? 1), regions: Number(process.argv[3] ?? 20) });
console.log(JSON.stringify(f, null, 1));
