// What the HTTP API and the CLI hand the config layer straight from users: JSON bodies (any
// shape) for validateConfig, and one-device strings or objects for parseDeviceSpec. Whatever
// comes in, only ConfigError may come out — and whatever is accepted satisfies the schema.

import fc from 'fast-check';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { ConfigError, deviceEntrySchema, parseDeviceSpec, validateConfig, xendConfigSchema, type DeviceClass } from '../../src/config/index.js';

function onlyConfigErrors(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.statusCode).toBe(400);
    expect(err.problems.length).toBeGreaterThan(0);
    return undefined;
  }
}

const CLASSES: DeviceClass[] = ['vbd', 'vif', 'vfb', 'vkbd', 'vtpm', 'console'];
const keys = ['name', 'uuid', 'type', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'image', 'kernel', 'devices', 'on_crash', 'vbd_refs', '__proto__', 'constructor', 'class', 'config', 'vdev', 'target', 'mac', 'backend', 'devid'];
const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('xvda', 'pv', '/k', '00:16:3e:00:00:01', 'vbd', 'vif', 'destroy', 'ffffffff-ffff-4fff-8fff-ffffffffffff'));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...keys), tie('value'), { maxKeys: 5 })),
})).value;

const nearModel = fc.record(
  {
    name: fc.oneof(fc.constant('g'), leaf),
    memory: fc.oneof(fc.integer({ min: -2, max: 2 ** 31 }), leaf),
    image: fc.oneof(fc.constant({ kernel: '/k' }), json),
    devices: fc.dictionary(
      fc.oneof(fc.uuid(), fc.string({ maxLength: 8 })),
      fc.oneof(fc.record({ class: fc.oneof(fc.constantFrom(...CLASSES), leaf), config: fc.oneof(json, fc.dictionary(fc.constantFrom('vdev', 'target', 'mac', 'backend', 'devid', 'format', 'access', 'name', 'vnc'), leaf)) }), json),
      { maxKeys: 4 },
    ),
  },
  { requiredKeys: [] },
);

describe('validateConfig on arbitrary JSON bodies', () => {
  it('only ever throws ConfigError, and what it accepts satisfies the schema (20,000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(json, nearModel), (body) => {
        const c = onlyConfigErrors(() => validateConfig(body));
        if (c !== undefined) expect(Value.Check(xendConfigSchema, c)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('never lets __proto__ keys through or pollutes Object.prototype', () => {
    const body = JSON.parse('{"name":"p","image":{"kernel":"/k"},"__proto__":{"polluted":1},"devices":{"__proto__":{"class":"vbd","config":{"vdev":"xvda","target":"/x"}}}}') as unknown;
    onlyConfigErrors(() => validateConfig(body));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parseDeviceSpec on arbitrary device strings and objects', () => {
  const pieces = fc.constantFrom('', ',', '=', ':', 'vdev', 'target', 'xvda', 'hdc', 'cdrom', 'phy:', 'tap:aio:', 'mac', '00:16:3e:00:00:01', 'bridge', 'xenbr0', 'vnc', '1', 'backend-type', 'qemu', 'name', 'uuid', 'connection', 'socket', 'path', '/x', 'w', 'ro', ' ', 'format', 'qcow2', 'access', 'devid', '-1', '99999999999');
  const spec = fc.oneof(fc.string({ maxLength: 40 }), fc.array(pieces, { maxLength: 12 }).map((a) => a.join('')));

  it('only ever throws ConfigError for any class, and accepted entries satisfy the schema (30,000 cases)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CLASSES), spec, (cls, s) => {
        const e = onlyConfigErrors(() => parseDeviceSpec(cls, s));
        if (e !== undefined) expect(Value.Check(deviceEntrySchema, e)).toBe(true);
      }),
      { numRuns: 30_000 },
    );
  });

  it('only ever throws ConfigError for device objects (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CLASSES, 'pci' as DeviceClass), fc.dictionary(fc.string({ maxLength: 10 }), leaf, { maxKeys: 4 }), (cls, o) => {
        onlyConfigErrors(() => parseDeviceSpec(cls, o));
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('found by the fuzzer', () => {
  it('a device key that is not a uuid is refused by the schema, not left unchecked', () => {
    let err: unknown;
    try {
      validateConfig({ name: 'g', image: { kernel: '/k' }, devices: { '': [] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]?.path).toBe('$.devices');
    expect(Value.Check(xendConfigSchema, { ...validateConfig({ name: 'g', image: { kernel: '/k' } }), devices: { x: {} } })).toBe(false);
  });
});
