import { describe, expect, it } from 'vitest';
import { numberToVdev, vdevToNumber } from '../../src/config/index.js';

// libxl__device_disk_dev_number's table (reference xenstore.md §6.5).
const TABLE: [string, number][] = [
  ['xvda', 51712], ['xvda1', 51713], ['xvdb', 51728], ['xvdc', 51744], ['xvdd', 51760], ['xvdp', 51952], ['xvdp15', 51967],
  ['xvda16', 268435472], ['xvdq', 268439552], ['xvdz', 268441856], ['xvdaa', 268442112], ['xvdab', 268442368], ['xvdba', 268448768],
  ['hda', 768], ['hda1', 769], ['hdb', 832], ['hdc', 5632], ['hdd', 5696], ['sda', 2048], ['sda1', 2049], ['sdb', 2064],
  ['sdp', 2288], ['sdp15', 2303], ['d0p0', 51712], ['d1p2', 51730], ['d16p0', 268439552],
];

describe('vdev numbering', () => {
  it.each(TABLE)('%s is %i', (name, num) => expect(vdevToNumber(name)).toBe(num));

  it('accepts plain, hex and octal numbers as strtoul(…, 0) does', () => {
    expect(vdevToNumber('51712')).toBe(51712);
    expect(vdevToNumber('0xca00')).toBe(51712);
    expect(vdevToNumber('0145000')).toBe(51712);
  });

  it.each(['hde', 'sdq', 'xvda0', 'xvd', 'xvda256', 'vda', 'xvdA', ''])('rejects %j as Xen does', (name) => {
    expect(vdevToNumber(name)).toBeUndefined();
  });

  it('names numbers back as libxl__devid_to_vdev does', () => {
    expect(numberToVdev(51712)).toBe('xvda');
    expect(numberToVdev(51967)).toBe('xvdp15');
    expect(numberToVdev(268442112)).toBe('xvdaa');
    expect(numberToVdev(268435472)).toBe('xvda16');
    expect(numberToVdev(768)).toBeUndefined();
  });
});
