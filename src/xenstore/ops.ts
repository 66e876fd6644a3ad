// The node operations, shared by the client (tx 0) and every Transaction (its own tx id).

import { isError } from '../errors.js';
import type { RequestMeta } from './client.js';
import { ENOENT } from './errors.js';
import { validatePath } from './paths.js';
import { parsePerms, formatPerms } from './perms.js';
import type { Perms, XsOps } from './types.js';
import { args, argWithTail, splitStrings, XsType } from './wire.js';

/** What the operations need from the connection. */
export interface Requester {
  request(type: number, payload: Buffer, txId?: number, meta?: RequestMeta): Promise<Buffer>;
  ack(type: number, payload: Buffer, txId?: number, meta?: RequestMeta): Promise<void>;
  /** Which connection requests go to now (changes on every reconnect). */
  readonly epoch: number;
}

export abstract class XsOpsImpl implements XsOps {
  constructor(readonly txId: number) {}

  protected abstract client(): Requester;

  protected checkPath(path: string, allowSpecial = false): void {
    validatePath(path, { allowSpecial });
  }

  async readBytes(path: string): Promise<Buffer> {
    this.checkPath(path);
    return this.client().request(XsType.READ, args(path), this.txId, { path });
  }

  async read(path: string): Promise<string> {
    return (await this.readBytes(path)).toString('utf8');
  }

  async tryRead(path: string): Promise<string | undefined> {
    try {
      return await this.read(path);
    } catch (err) {
      if (isError(err, ENOENT)) return undefined;
      throw err;
    }
  }

  async write(path: string, value: string | Buffer): Promise<void> {
    this.checkPath(path);
    const tail = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    await this.client().ack(XsType.WRITE, argWithTail(path, tail), this.txId, { path });
  }

  async mkdir(path: string): Promise<void> {
    this.checkPath(path);
    await this.client().ack(XsType.MKDIR, args(path), this.txId, { path });
  }

  async rm(path: string): Promise<void> {
    this.checkPath(path);
    await this.client().ack(XsType.RM, args(path), this.txId, { path });
  }

  async directory(path: string): Promise<string[]> {
    this.checkPath(path);
    return splitStrings(await this.client().request(XsType.DIRECTORY, args(path), this.txId, { path }));
  }

  async tryDirectory(path: string): Promise<string[] | undefined> {
    try {
      return await this.directory(path);
    } catch (err) {
      if (isError(err, ENOENT)) return undefined;
      throw err;
    }
  }

  async getPerms(path: string): Promise<Perms> {
    this.checkPath(path, true);
    return parsePerms(splitStrings(await this.client().request(XsType.GET_PERMS, args(path), this.txId, { path })), path);
  }

  async setPerms(path: string, perms: Perms): Promise<void> {
    this.checkPath(path, true);
    await this.client().ack(XsType.SET_PERMS, args(path, ...formatPerms(perms)), this.txId, { path });
  }

  async getDomainPath(domid: number): Promise<string> {
    const reply = await this.client().request(XsType.GET_DOMAIN_PATH, args(String(domid)), this.txId);
    return splitStrings(reply)[0] ?? '';
  }

  async isDomainIntroduced(domid: number): Promise<boolean> {
    const reply = await this.client().request(XsType.IS_DOMAIN_INTRODUCED, args(String(domid)), this.txId);
    return splitStrings(reply)[0] === 'T';
  }
}
