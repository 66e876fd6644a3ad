// The simulated guest's serial line: what the embedded default's `tsxend console` shows.

import { describe, expect, it } from 'vitest';
import { SimConsole, SimConsoleSource } from '../../src/sim/index.js';

function setup() {
  const shutdowns: string[] = [];
  const c = new SimConsole(3, 'web1', { shutdown: (r) => shutdowns.push(r) });
  const s = c.attach();
  let out = '';
  s.onData((b) => (out += b.toString()));
  return { c, s, shutdowns, out: () => out };
}

describe('the simulated guest console', () => {
  it('prints a boot banner and a prompt when the guest first runs, kept for a late attach', () => {
    const { c, out } = setup();
    expect(out()).toBe('');
    c.run();
    expect(out()).toContain('Xen: booting paravirtualized kernel on Xen (domid 3)');
    expect(out().endsWith('root@web1:~# ')).toBe(true);
    expect(out()).not.toMatch(/[^\r]\n/); // a serial line's CRLF
    expect(c.attach().backlog.toString()).toBe(out());
  });

  it('echoes typing, handles backspace and Ctrl-C, and answers commands', () => {
    const { c, s, out } = setup();
    c.run();
    const before = out().length;
    s.write(Buffer.from('hostnamx\x7fe\r'));
    expect(out().slice(before)).toBe('hostnamx\b \be\r\nweb1\r\nroot@web1:~# ');
    s.write(Buffer.from('foo\x03'));
    expect(out()).toContain('foo^C\r\nroot@web1:~# ');
    s.write(Buffer.from('frobnicate\r'));
    expect(out()).toContain('-sh: frobnicate: command not found');
  });

  it('keeps what is typed while paused until the guest runs again', () => {
    const { c, s, out } = setup();
    c.run();
    c.pause();
    const before = out().length;
    s.write(Buffer.from('echo hi\r'));
    expect(out().length).toBe(before);
    c.run();
    expect(out().slice(before)).toBe('echo hi\r\nhi\r\nroot@web1:~# ');
  });

  it('poweroff typed at the prompt asks the hypervisor to shut the guest down', () => {
    const { c, s, shutdowns } = setup();
    c.run();
    s.write(Buffer.from('poweroff\r'));
    expect(shutdowns).toEqual(['poweroff']);
  });

  it('ends attached streams when the domain goes, and refuses new ones', async () => {
    const { c, s } = setup();
    const ended = new Promise<string>((r) => s.onEnd(r));
    c.end('the domain was destroyed');
    expect(await ended).toBe('the domain was destroyed');
    expect(() => c.attach()).toThrow(/destroyed/);
    await expect(new SimConsoleSource(async () => undefined).open(4)).rejects.toMatchObject({ code: 'TSX_ERR_CONSOLE_UNAVAILABLE' });
  });
});
