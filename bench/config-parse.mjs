// Config layer throughput: parse (text → validated model) and write (model → text) per format,
// for a typical PV guest (2 disks, 2 vifs, a vfb with its vkbd) and for a large one (64 disks,
// 32 vifs). Reports µs per operation, median of the rounds. Pure CPU: no I/O, no daemon.
//
//   npm run build && node bench/config-parse.mjs [--iterations N] [--rounds R] [--json]

import { parseJson, parseSxp, parseXl, toJson, toSxp, toXl, validateConfig } from '../dist/config/index.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const iterations = opt('--iterations', 2000);
const rounds = opt('--rounds', 5);

const small = `name = "web1"
uuid = "6f1f1ab4-3b7e-4d2a-9e0d-6a2f4c9b1e10"
memory = 512
maxmem = 1024
vcpus = 2
kernel = "/boot/vmlinuz"
extra = "console=hvc0"
root = "/dev/xvda1 ro"
disk = [ 'phy:/dev/vg0/web1,xvda,w', 'file:/srv/data.img,xvdb,r' ]
vif = [ 'mac=00:16:3e:12:34:56,bridge=xenbr1', 'mac=00:16:3e:12:34:57' ]
vfb = [ 'type=vnc,vnclisten=0.0.0.0' ]
`;
const disks = Array.from({ length: 64 }, (_, i) => `'format=raw,vdev=d${i}p0,access=rw,target=/dev/vg0/big-${i}'`);
const vifs = Array.from({ length: 32 }, (_, i) => `'mac=00:16:3e:00:01:${i.toString(16).padStart(2, '0')},bridge=xenbr0'`);
const large = `name = "big"\nuuid = "6f1f1ab4-3b7e-4d2a-9e0d-6a2f4c9b1e11"\nmemory = 8192\nkernel = "/boot/vmlinuz"\ndisk = [\n  ${disks.join(',\n  ')}\n]\nvif = [\n  ${vifs.join(',\n  ')}\n]\n`;

function measure(fn, n) {
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const asJson = argv.includes('--json');
const say = asJson ? (s) => process.stderr.write(`${s}\n`) : (s) => console.log(s);
const results = [];
say(`config layer, µs per operation (median of ${rounds} rounds)`);
say('case                 parse-xl  parse-sxp  parse-json  validate  to-xl  to-sxp  to-json');
for (const [label, text] of [['small (6 devices)', small], ['large (96 devices)', large]]) {
  const c = parseXl(text).config;
  const xl = toXl(c);
  const sxp = toSxp(c);
  const json = toJson(c);
  const n = label.startsWith('large') ? Math.max(1, Math.floor(iterations / 20)) : iterations;
  const row = [
    measure(() => parseXl(xl), n),
    measure(() => parseSxp(sxp), n),
    measure(() => parseJson(json), n),
    measure(() => validateConfig(JSON.parse(json)), n),
    measure(() => toXl(c), n),
    measure(() => toSxp(c), n),
    measure(() => toJson(c), n),
  ];
  say(`${label.padEnd(20)} ${row.map((x, i) => x.toFixed(1).padStart([9, 10, 11, 9, 6, 7, 8][i])).join(' ')}`);
  const [parseXlUs, parseSxpUs, parseJsonUs, validateUs, toXlUs, toSxpUs, toJsonUs] = row.map((x) => Number(x.toFixed(2)));
  results.push({ case: label, parseXlUs, parseSxpUs, parseJsonUs, validateUs, toXlUs, toSxpUs, toJsonUs });
}
if (asJson) console.log(JSON.stringify({ bench: 'config-parse', rounds, results }));
