import { describe, expect, it } from 'vitest';
import { ConfigError, DEVICE_CLASS_DECLARATIONS, deriveClassOrder, orderedDeviceRefs, parseXl } from '../../src/config/index.js';

describe('device order derived from per-class declarations', () => {
  it('puts every vkbd before every vfb (changeset 14926), then console, vbd, vif, vtpm', () => {
    expect(deriveClassOrder()).toEqual(['vkbd', 'console', 'vbd', 'vif', 'vtpm', 'vfb']);
    const vfb = DEVICE_CLASS_DECLARATIONS.find((d) => d.class === 'vfb')!;
    expect(vfb.after).toContain('vkbd');
  });

  it('keeps the written order within a class', () => {
    const { config } = parseXl('name="o"\nkernel="/k"\ndisk=["/a,xvdc,w","/b,xvda,w","/c,xvdb,w"]\nvfb=["vnc=1"]\nvkb=["backend-type=qemu","backend-type=linux"]\n');
    const order = orderedDeviceRefs(config).map((u) => {
      const d = config.devices[u]!;
      return d.class === 'vbd' ? d.config.vdev : d.class === 'vkbd' ? `vkbd:${d.config.backendType}` : d.class;
    });
    expect(order).toEqual(['vkbd:qemu', 'vkbd:linux', 'xvdc', 'xvda', 'xvdb', 'vfb']);
  });

  it('rejects declarations with a cycle as a config-time error naming the classes', () => {
    const err = (() => {
      try {
        deriveClassOrder([
          { class: 'vkbd', after: ['vfb'] },
          { class: 'vfb', after: ['vkbd'] },
        ]);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.code).toBe('TSX_ERR_CONFIG_DEVICE_ORDER');
    expect(err?.message).toContain('vkbd after [vfb]');
  });
});
